import { Button, Group, Modal, Stack, Text } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import type { ReactNode } from 'react';

/** A destructive action behind a confirmation dialog (Enter confirms, Escape cancels). */
export function ConfirmButton({
  label,
  title,
  children,
  onConfirm,
  loading,
  ariaLabel,
}: {
  label: string;
  title: string;
  children: ReactNode;
  onConfirm: () => void;
  loading?: boolean;
  ariaLabel?: string;
}) {
  const [opened, { open, close }] = useDisclosure(false);
  return (
    <>
      <Button size="xs" variant="subtle" color="red" onClick={open} loading={loading} aria-label={ariaLabel}>
        {label}
      </Button>
      <Modal opened={opened} onClose={close} title={title}>
        <Stack>
          <Text size="sm">{children}</Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button
              color="red"
              data-autofocus
              onClick={() => {
                close();
                onConfirm();
              }}
            >
              {label}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
