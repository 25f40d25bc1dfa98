import { Stack, Text, Title } from '@mantine/core';
import type { ReactNode } from 'react';

/** What a list shows when it has nothing yet: what goes here, and the action that adds the first one. */
export function EmptyState({
  title,
  description,
  action,
}: {
  title: string;
  description?: ReactNode;
  action?: ReactNode;
}) {
  return (
    <Stack align="center" gap="xs" py="xl" data-testid="empty-state">
      <Title order={4}>{title}</Title>
      {description && (
        <Text c="dimmed" size="sm" ta="center" maw={480}>
          {description}
        </Text>
      )}
      {action}
    </Stack>
  );
}
