import { Badge, Button, Code, Group, Modal, Stack, Switch, Table, TagsInput, Text, TextInput, Tooltip } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPlus } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, unwrap } from '../../api/client';
import type { components } from '../../api/schema';
import { CodeEditor, EmptyState, ErrorAlert, Loading } from '../../components';
import { EVENT_TYPES } from './events';
import { DeliveriesCard, RowActions } from './RowActions';
import { NEW_TARGET, parseJson, targetFromData, targetReady, targetToData, TriggerDeliveries, TriggerTargetFields, type TriggerTarget } from './triggerTarget';

type Subscription = components['schemas']['TriggerSubscriptionView'];

const FILTERS_EXAMPLE = '{}';
const MAPPING_HINT = 'Each input of the application, from the event: {"question": "$.payload.question"} ($.event.* too)';

/** A new event trigger, or an existing one (`editing`) to change; mounted afresh for each. */
function SubscriptionForm({ editing, onClose }: { editing: Subscription | null; onClose: () => void }) {
  const [name, setName] = useState(editing?.name ?? '');
  const [eventKey, setEventKey] = useState<string[]>(editing ? [String(editing.data.event_key)] : []);
  const [filters, setFilters] = useState(editing?.data.filters ? JSON.stringify(editing.data.filters, null, 2) : FILTERS_EXAMPLE);
  const [target, setTarget] = useState<TriggerTarget>(editing ? targetFromData(editing.data) : NEW_TARGET);
  const client = useQueryClient();
  const formSubscription = () => {
    const parsedFilters = parseJson(filters, 'Filters');
    return {
      name: name.trim() || null,
      data: {
        ...editing?.data,
        event_key: eventKey[0] ?? '',
        filters: Object.keys(parsedFilters).length ? parsedFilters : null,
        ...targetToData(target),
      },
    };
  };
  // Try the form as it stands on the latest stored event it matches: the inputs it would map, nothing run.
  const tryIt = useMutation({
    mutationFn: () => unwrap(api.POST('/api/triggers/subscriptions/test', { body: { subscription: formSubscription() } })),
  });
  const save = useMutation({
    mutationFn: () => {
      const subscription = formSubscription();
      return editing
        ? unwrap(
            api.PUT('/api/triggers/subscriptions/{subscription_id}', {
              params: { path: { subscription_id: editing.id } },
              body: { subscription: { ...subscription, id: editing.id, flags: editing.flags } },
            }),
          )
        : unwrap(api.POST('/api/triggers/subscriptions/', { body: { subscription } }));
    },
    onSuccess: () => {
      client.invalidateQueries({ queryKey: ['trigger-subscriptions'] });
      onClose();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  return (
    <Modal opened onClose={onClose} title={editing ? `Edit ${editing.name || 'event trigger'}` : 'New event trigger'} size="lg">
      <Stack component="form" onSubmit={submit} gap="sm">
        <TextInput label="Name" value={name} onChange={(event) => setName(event.currentTarget.value)} data-autofocus />
        <TagsInput
          label="Event"
          description="The event key that fires it: x.y.z, a family such as evaluations.*, or * for every event."
          data={EVENT_TYPES}
          value={eventKey}
          onChange={(keys) => setEventKey(keys.slice(-1))}
          maxTags={1}
          required
        />
        <Text size="sm" fw={500}>
          Filters
        </Text>
        <Text size="xs" c="dimmed" mt={-8}>
          All must hold: {'{"$.payload.environment": "production"}'}. Empty: every event of that key.
        </Text>
        <CodeEditor value={filters} onChange={setFilters} language="json" label="Filters (JSON)" minHeight="60px" />
        <TriggerTargetFields value={target} onChange={setTarget} inputsLabel="Input mapping" />
        {target.kind === 'application' && (
          <Text size="xs" c="dimmed" mt={-8}>
            {MAPPING_HINT}
          </Text>
        )}
        {tryIt.isError && <ErrorAlert error={tryIt.error} title="The trigger could not be tried" />}
        {tryIt.data &&
          (tryIt.data.delivery ? (
            <Stack gap={4} data-testid="trigger-try">
              <Text size="xs" c="dimmed">
                On event {tryIt.data.delivery.event_id}, it would run with these inputs:
              </Text>
              <Code block>{JSON.stringify(tryIt.data.delivery.data?.inputs ?? {}, null, 2)}</Code>
            </Stack>
          ) : (
            <Text size="sm" c="dimmed" data-testid="trigger-try">
              No stored event matches it yet.
            </Text>
          ))}
        {save.isError && <ErrorAlert error={save.error} title={editing ? 'The trigger was not saved' : 'The trigger was not created'} />}
        <Group justify="flex-end">
          <Button variant="default" loading={tryIt.isPending} disabled={!eventKey.length} onClick={() => tryIt.mutate()}>
            Try on latest event
          </Button>
          <Button type="submit" loading={save.isPending} disabled={!eventKey.length || !targetReady(target)}>
            {editing ? 'Save trigger' : 'Create trigger'}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

/** /automation/triggers: run an application or start an evaluation when one of Lamina's events happens. */
export function Triggers() {
  const subscriptions = useQuery({
    queryKey: ['trigger-subscriptions'],
    queryFn: () => unwrap(api.GET('/api/triggers/subscriptions/')),
  });
  const [form, setForm] = useState<Subscription | 'new' | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const client = useQueryClient();
  const refresh = () => client.invalidateQueries({ queryKey: ['trigger-subscriptions'] });
  const toggle = useMutation({
    mutationFn: ({ id, active }: { id: string; active: boolean }) =>
      unwrap(api.POST(`/api/triggers/subscriptions/{subscription_id}/${active ? 'start' : 'stop'}`, { params: { path: { subscription_id: id } } })),
    onSuccess: refresh,
    onError: (error) => notifications.show({ color: 'red', message: error.message }),
  });
  // Revoked: fires on nothing, started or not, until refreshed (which checks it again first).
  const validity = useMutation({
    mutationFn: ({ id, valid }: { id: string; valid: boolean }) =>
      unwrap(api.POST(`/api/triggers/subscriptions/{subscription_id}/${valid ? 'refresh' : 'revoke'}`, { params: { path: { subscription_id: id } } })),
    onSuccess: refresh,
    onError: (error) => notifications.show({ color: 'red', message: error.message }),
  });
  const remove = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/triggers/subscriptions/{subscription_id}', { params: { path: { subscription_id: id } } })),
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
          Run an application or start an evaluation when an event happens.
        </Text>
        <Button leftSection={<IconPlus size={16} />} onClick={() => setForm('new')}>
          New event trigger
        </Button>
      </Group>
      {subscriptions.isPending ? (
        <Loading label="Loading event triggers" />
      ) : subscriptions.isError ? (
        <ErrorAlert error={subscriptions.error} onRetry={() => subscriptions.refetch()} />
      ) : subscriptions.data.subscriptions.length === 0 ? (
        <EmptyState title="No event triggers" description="An event trigger runs its target each time a matching event happens." />
      ) : (
        <Table highlightOnHover verticalSpacing="xs" aria-label="Event triggers">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Event</Table.Th>
              <Table.Th>Filters</Table.Th>
              <Table.Th>Target</Table.Th>
              <Table.Th>Active</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {subscriptions.data.subscriptions.map((subscription) => {
              const filters = Object.keys(subscription.data.filters ?? {});
              return (
                <Table.Tr key={subscription.id} bg={subscription.id === selected ? 'var(--mantine-color-default-hover)' : undefined}>
                  <Table.Td>{subscription.name || subscription.id.slice(0, 8)}</Table.Td>
                  <Table.Td>
                    <Code>{String(subscription.data.event_key)}</Code>
                  </Table.Td>
                  <Table.Td>
                    {filters.length ? (
                      <Tooltip label={JSON.stringify(subscription.data.filters)}>
                        <Badge size="sm" variant="outline" style={{ textTransform: 'none' }}>
                          {filters.length} {filters.length === 1 ? 'filter' : 'filters'}
                        </Badge>
                      </Tooltip>
                    ) : (
                      <Text size="xs" c="dimmed">
                        none
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    {subscription.data.evaluation ? 'evaluation' : 'application'}
                    {subscription.flags.is_test && (
                      <Badge ml={6} size="xs" color="gray" variant="light">
                        test
                      </Badge>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Group gap={6} wrap="nowrap">
                      <Switch
                        aria-label={`Active: ${subscription.name ?? subscription.id}`}
                        checked={subscription.flags.is_active}
                        onChange={(event) => toggle.mutate({ id: subscription.id, active: event.currentTarget.checked })}
                      />
                      {subscription.flags.is_valid === false && (
                        <Tooltip label="Revoked: it fires on nothing until refreshed">
                          <Badge size="xs" color="red" variant="light">
                            revoked
                          </Badge>
                        </Tooltip>
                      )}
                    </Group>
                  </Table.Td>
                  <Table.Td>
                    <RowActions
                      noun="event trigger"
                      showingDeliveries={subscription.id === selected}
                      onDeliveries={() => setSelected(subscription.id === selected ? null : subscription.id)}
                      onEdit={() => setForm(subscription)}
                      onDelete={() => remove.mutate(subscription.id)}
                    >
                      <Button
                        size="compact-xs"
                        variant="default"
                        loading={validity.isPending && validity.variables?.id === subscription.id}
                        onClick={() => validity.mutate({ id: subscription.id, valid: subscription.flags.is_valid === false })}
                      >
                        {subscription.flags.is_valid === false ? 'Refresh' : 'Revoke'}
                      </Button>
                    </RowActions>
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      )}
      {chosen && (
        <DeliveriesCard of={chosen}>
          <TriggerDeliveries filter={{ subscription_id: chosen.id }} emptyDescription="A delivery is recorded each time a matching event happens." />
        </DeliveriesCard>
      )}
      {form && <SubscriptionForm key={form === 'new' ? 'new' : form.id} editing={form === 'new' ? null : form} onClose={() => setForm(null)} />}
    </Stack>
  );
}
