import { ActionIcon, Button, Card, Group, Text } from '@mantine/core';
import { IconPencil, IconTrash } from '@tabler/icons-react';
import type { ReactNode } from 'react';

/** The actions every automation row has (webhooks, schedules, event triggers): its deliveries, edit, delete;
 * `children` go first (a webhook's Test). */
export function RowActions(props: {
  noun: string;
  showingDeliveries: boolean;
  onDeliveries: () => void;
  onEdit: () => void;
  onDelete: () => void;
  children?: ReactNode;
}) {
  return (
    <Group gap={4} wrap="nowrap">
      {props.children}
      <Button size="compact-xs" variant={props.showingDeliveries ? 'filled' : 'default'} onClick={props.onDeliveries}>
        Deliveries
      </Button>
      <ActionIcon size="sm" variant="subtle" aria-label={`Edit ${props.noun}`} onClick={props.onEdit}>
        <IconPencil size={14} />
      </ActionIcon>
      <ActionIcon size="sm" variant="subtle" color="red" aria-label={`Delete ${props.noun}`} onClick={props.onDelete}>
        <IconTrash size={14} />
      </ActionIcon>
    </Group>
  );
}

/** The delivery log of the row whose Deliveries button is pressed. */
export function DeliveriesCard(props: { of: { id: string; name?: string | null }; children: ReactNode }) {
  return (
    <Card withBorder>
      <Text fw={500} mb="xs">
        Deliveries of {props.of.name || props.of.id.slice(0, 8)}
      </Text>
      {props.children}
    </Card>
  );
}
