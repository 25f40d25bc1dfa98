import {
  ActionIcon,
  Alert,
  Badge,
  Button,
  Code,
  CopyButton,
  Group,
  Modal,
  PasswordInput,
  ScrollArea,
  Stack,
  Switch,
  Table,
  TagsInput,
  Text,
  TextInput,
  Tooltip,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPlus, IconRefresh, IconSend, IconTrash } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, unwrap } from '../../api/client';
import type { components } from '../../api/schema';
import { EmptyState, ErrorAlert, Loading } from '../../components';
import { EVENT_TYPES } from './events';
import { DeliveriesCard, RowActions } from './RowActions';

const DELIVERY_COLORS: Record<string, string> = { succeeded: 'green', retrying: 'yellow', failed: 'red', cancelled: 'gray' };

interface HeaderRow {
  name: string;
  value: string;
}

function SecretOnce({ secret, onClose }: { secret: string; onClose: () => void }) {
  return (
    <Modal opened onClose={onClose} title="The signing secret">
      <Stack>
        <Alert color="yellow" variant="light">
          Copy it now: it is shown only once. Deliveries carry <Code>X-Lamina-Signature: t=…,v1=…</Code>, the HMAC-SHA256
          of <Code>t.body</Code> with this secret.
        </Alert>
        <Group wrap="nowrap">
          <Code block style={{ flex: 1 }} data-testid="webhook-secret">
            {secret}
          </Code>
          <CopyButton value={secret}>
            {({ copied, copy }) => (
              <Button size="xs" variant="light" onClick={copy}>
                {copied ? 'Copied' : 'Copy'}
              </Button>
            )}
          </CopyButton>
        </Group>
        <Button onClick={onClose}>Done</Button>
      </Stack>
    </Modal>
  );
}

type WebhookSubscription = components['schemas']['SubscriptionView'];

/** A new subscription, or an existing one (`editing`) to change; mounted afresh for each. An edit keeps the
 * signing secret unless a new one is typed. */
function SubscriptionForm({ editing, onClose, onSecret }: { editing: WebhookSubscription | null; onClose: () => void; onSecret: (secret: string) => void }) {
  const [name, setName] = useState(editing?.name ?? '');
  const [url, setUrl] = useState(editing?.data.url ?? '');
  const [eventTypes, setEventTypes] = useState<string[]>(editing?.data.event_types ?? []);
  const [headers, setHeaders] = useState<HeaderRow[]>(
    Object.entries(editing?.data.headers ?? {}).map(([name, value]) => ({ name, value: String(value) })),
  );
  const [secret, setSecret] = useState('');
  const client = useQueryClient();
  const save = useMutation({
    mutationFn: () => {
      const subscription = {
        name: name.trim() || null,
        data: {
          ...editing?.data,
          url: url.trim(),
          event_types: eventTypes,
          headers: Object.fromEntries(headers.filter((row) => row.name.trim()).map((row) => [row.name.trim(), row.value])),
        },
        secret: secret || null,
      };
      return editing
        ? unwrap(
            api.PUT('/api/webhooks/subscriptions/{subscription_id}', {
              params: { path: { subscription_id: editing.id } },
              body: { subscription: { ...subscription, flags: editing.flags } },
            }),
          )
        : unwrap(api.POST('/api/webhooks/subscriptions/', { body: { subscription } }));
    },
    onSuccess: (answer) => {
      client.invalidateQueries({ queryKey: ['webhook-subscriptions'] });
      onClose();
      if (answer.subscription.secret) onSecret(answer.subscription.secret);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  return (
    <Modal opened onClose={onClose} title={editing ? `Edit ${editing.name || 'subscription'}` : 'New webhook subscription'} size="lg">
      <Stack component="form" onSubmit={submit} gap="sm">
        <TextInput label="Name" value={name} onChange={(event) => setName(event.currentTarget.value)} data-autofocus />
        <TextInput label="URL" placeholder="https://example.com/hooks/lamina" required value={url} onChange={(event) => setUrl(event.currentTarget.value)} />
        <TagsInput
          label="Event types"
          description="Empty: every event. Patterns such as evaluations.* match a family."
          data={EVENT_TYPES}
          value={eventTypes}
          onChange={setEventTypes}
          clearable
        />
        <Stack gap={4}>
          <Text size="sm" fw={500}>
            Headers
          </Text>
          {headers.map((row, index) => (
            <Group key={index} gap="xs" wrap="nowrap">
              <TextInput
                placeholder="Name"
                aria-label={`Header ${index + 1} name`}
                value={row.name}
                onChange={(event) => {
                  const value = event.currentTarget.value;
                  setHeaders(headers.map((item, i) => (i === index ? { ...item, name: value } : item)));
                }}
              />
              <TextInput
                placeholder="Value"
                aria-label={`Header ${index + 1} value`}
                style={{ flex: 1 }}
                value={row.value}
                onChange={(event) => {
                  const value = event.currentTarget.value;
                  setHeaders(headers.map((item, i) => (i === index ? { ...item, value } : item)));
                }}
              />
              <ActionIcon variant="subtle" color="red" aria-label={`Remove header ${index + 1}`} onClick={() => setHeaders(headers.filter((_, i) => i !== index))}>
                <IconTrash size={14} />
              </ActionIcon>
            </Group>
          ))}
          <Button size="xs" variant="light" w="fit-content" leftSection={<IconPlus size={14} />} onClick={() => setHeaders([...headers, { name: '', value: '' }])}>
            Add header
          </Button>
        </Stack>
        <PasswordInput
          label="Signing secret"
          description={
            editing ? 'Leave empty to keep the current secret; a new one (16+ characters) replaces it.' : 'At least 16 characters; leave empty to have one generated (shown once).'
          }
          value={secret}
          onChange={(event) => setSecret(event.currentTarget.value)}
        />
        {save.isError && <ErrorAlert error={save.error} title={editing ? 'The subscription was not saved' : 'The subscription was not created'} />}
        <Group justify="flex-end">
          <Button type="submit" loading={save.isPending} disabled={!url.trim()}>
            {editing ? 'Save subscription' : 'Create subscription'}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

function DeliveryLog({ subscriptionId }: { subscriptionId: string }) {
  const deliveries = useQuery({
    queryKey: ['webhook-deliveries', subscriptionId],
    queryFn: () =>
      unwrap(
        api.POST('/api/webhooks/deliveries/query', {
          body: { delivery: { subscription_id: subscriptionId }, windowing: { limit: 50, order: 'descending' } },
        }),
      ),
    refetchInterval: 5000,
  });
  const client = useQueryClient();
  const replay = useMutation({
    mutationFn: (attemptId: string) =>
      unwrap(api.POST('/api/webhooks/deliveries/{delivery_id}/replay', { params: { path: { delivery_id: attemptId } } })),
    onSuccess: () => {
      notifications.show({ color: 'green', message: 'Queued again from attempt 1' });
      client.invalidateQueries({ queryKey: ['webhook-deliveries', subscriptionId] });
    },
    onError: (error) => notifications.show({ color: 'red', title: 'Not replayed', message: error.message }),
  });
  if (deliveries.isPending) return <Loading label="Loading deliveries" />;
  if (deliveries.isError) return <ErrorAlert error={deliveries.error} onRetry={() => deliveries.refetch()} />;
  if (deliveries.data.deliveries.length === 0)
    return <EmptyState title="No deliveries yet" description="Press Test to send a webhooks.subscriptions.tested event now." />;
  return (
    <ScrollArea type="auto">
      <Table fz="sm" withTableBorder aria-label="Delivery log">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>When</Table.Th>
            <Table.Th>Event</Table.Th>
            <Table.Th>Attempt</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>HTTP</Table.Th>
            <Table.Th>Latency</Table.Th>
            <Table.Th>Error</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {deliveries.data.deliveries.map((delivery) => (
            <Table.Tr key={delivery.id} data-testid="delivery-row">
              <Table.Td>{new Date(delivery.created_at).toLocaleString()}</Table.Td>
              <Table.Td>
                <Code>{delivery.data.event_type}</Code>
              </Table.Td>
              <Table.Td>{delivery.data.attempt}</Table.Td>
              <Table.Td>
                <Badge color={DELIVERY_COLORS[delivery.status.code] ?? 'gray'} variant="light">
                  {delivery.status.code}
                </Badge>
              </Table.Td>
              <Table.Td>{delivery.data.response.status_code ?? '—'}</Table.Td>
              <Table.Td>{delivery.data.latency_ms !== null && delivery.data.latency_ms !== undefined ? `${delivery.data.latency_ms} ms` : '—'}</Table.Td>
              <Table.Td maw={280}>
                <Text size="xs" c="red" lineClamp={2}>
                  {delivery.data.error}
                </Text>
              </Table.Td>
              <Table.Td>
                <Tooltip label="Send again from attempt 1 (same delivery id and idempotency key)">
                  <ActionIcon variant="subtle" aria-label="Replay" loading={replay.isPending && replay.variables === delivery.id} onClick={() => replay.mutate(delivery.id)}>
                    <IconRefresh size={14} />
                  </ActionIcon>
                </Tooltip>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </ScrollArea>
  );
}

export function Webhooks() {
  const subscriptions = useQuery({
    queryKey: ['webhook-subscriptions'],
    queryFn: () => unwrap(api.POST('/api/webhooks/subscriptions/query', { body: {} })),
  });
  // null: no form; 'new'; or the subscription being edited.
  const [form, setForm] = useState<WebhookSubscription | 'new' | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const client = useQueryClient();
  const refresh = () => client.invalidateQueries({ queryKey: ['webhook-subscriptions'] });
  const toggle = useMutation({
    mutationFn: ({ id, active }: { id: string; active: boolean }) =>
      unwrap(api.POST(`/api/webhooks/subscriptions/{subscription_id}/${active ? 'start' : 'stop'}`, { params: { path: { subscription_id: id } } })),
    onSuccess: refresh,
    onError: (error) => notifications.show({ color: 'red', message: error.message }),
  });
  const test = useMutation({
    mutationFn: (id: string) => unwrap(api.POST('/api/webhooks/subscriptions/test', { body: { subscription_id: id } })),
    onSuccess: (answer, id) => {
      setSelected(id);
      client.invalidateQueries({ queryKey: ['webhook-deliveries', id] });
      const code = answer.delivery?.status.code;
      notifications.show({ color: code === 'succeeded' ? 'green' : 'red', message: `Test delivery ${code}` });
    },
    onError: (error) => notifications.show({ color: 'red', title: 'Test not sent', message: error.message }),
  });
  const remove = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/webhooks/subscriptions/{subscription_id}', { params: { path: { subscription_id: id } } })),
    onSuccess: (_, id) => {
      if (selected === id) setSelected(null);
      refresh();
    },
    onError: (error) => notifications.show({ color: 'red', message: error.message }),
  });
  const chosen = subscriptions.data?.subscriptions.find((item) => item.id === selected);
  return (
    <Stack>
      <Group justify="space-between">
        <Text size="sm" c="dimmed">
          Lamina POSTs signed events to these URLs, retrying with backoff.
        </Text>
        <Button leftSection={<IconPlus size={16} />} onClick={() => setForm('new')}>
          New subscription
        </Button>
      </Group>
      {subscriptions.isPending ? (
        <Loading label="Loading subscriptions" />
      ) : subscriptions.isError ? (
        <ErrorAlert error={subscriptions.error} onRetry={() => subscriptions.refetch()} />
      ) : subscriptions.data.subscriptions.length === 0 ? (
        <EmptyState title="No webhook subscriptions" description="Subscribe a URL to events such as evaluations.run.finished." />
      ) : (
        <Table highlightOnHover verticalSpacing="xs" aria-label="Webhook subscriptions">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>URL</Table.Th>
              <Table.Th>Events</Table.Th>
              <Table.Th>Active</Table.Th>
              <Table.Th>Circuit</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {subscriptions.data.subscriptions.map((subscription) => (
              <Table.Tr key={subscription.id} bg={subscription.id === selected ? 'var(--mantine-color-default-hover)' : undefined}>
                <Table.Td>{subscription.name || subscription.id.slice(0, 8)}</Table.Td>
                <Table.Td maw={280}>
                  <Text size="sm" truncate>
                    {subscription.data.url}
                  </Text>
                </Table.Td>
                <Table.Td maw={260}>
                  <Group gap={4}>
                    {subscription.data.event_types.length ? (
                      subscription.data.event_types.map((type) => (
                        <Badge key={type} size="xs" variant="outline" style={{ textTransform: 'none' }}>
                          {type}
                        </Badge>
                      ))
                    ) : (
                      <Text size="xs" c="dimmed">
                        every event
                      </Text>
                    )}
                  </Group>
                </Table.Td>
                <Table.Td>
                  <Switch
                    aria-label={`Active: ${subscription.name ?? subscription.id}`}
                    checked={subscription.flags.is_active}
                    onChange={(event) => toggle.mutate({ id: subscription.id, active: event.currentTarget.checked })}
                  />
                </Table.Td>
                <Table.Td>
                  <Badge size="sm" variant="light" color={subscription.breaker.state === 'closed' ? 'green' : 'red'}>
                    {subscription.breaker.state}
                  </Badge>
                </Table.Td>
                <Table.Td>
                  <RowActions
                    noun="subscription"
                    showingDeliveries={subscription.id === selected}
                    onDeliveries={() => setSelected(subscription.id === selected ? null : subscription.id)}
                    onEdit={() => setForm(subscription)}
                    onDelete={() => remove.mutate(subscription.id)}
                  >
                    <Button size="compact-xs" variant="light" leftSection={<IconSend size={12} />} loading={test.isPending && test.variables === subscription.id} onClick={() => test.mutate(subscription.id)}>
                      Test
                    </Button>
                  </RowActions>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {chosen && (
        <DeliveriesCard of={chosen}>
          <DeliveryLog subscriptionId={chosen.id} />
        </DeliveriesCard>
      )}
      {form && (
        <SubscriptionForm key={form === 'new' ? 'new' : form.id} editing={form === 'new' ? null : form} onClose={() => setForm(null)} onSecret={setSecret} />
      )}
      {secret && <SecretOnce secret={secret} onClose={() => setSecret(null)} />}
    </Stack>
  );
}
