import {
  Button,
  Code,
  Group,
  Modal,
  Select,
  Stack,
  Switch,
  Table,
  Text,
  TextInput,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPlus } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState, type FormEvent } from 'react';
import { api, unwrap } from '../../api/client';
import type { components } from '../../api/schema';
import { EmptyState, ErrorAlert, Loading } from '../../components';
import { DeliveriesCard, RowActions } from './RowActions';
import { NEW_TARGET, targetFromData, targetReady, targetToData, TriggerDeliveries, TriggerTargetFields, type TriggerTarget } from './triggerTarget';

const CRON_FIELDS = 5;

type Schedule = components['schemas']['TriggerScheduleView'];

function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** IANA zones the browser knows, with UTC and the browser's own first (Chromium's list omits "UTC"). */
function timeZones(): string[] {
  const supported = (Intl as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf;
  return [...new Set(['UTC', browserTimeZone(), ...(supported ? supported('timeZone') : [])])];
}

/** A new schedule, or an existing one (`editing`) to change; mounted afresh for each. */
function ScheduleForm({ editing, onClose }: { editing: Schedule | null; onClose: () => void }) {
  const zones = useMemo(timeZones, []);
  const [name, setName] = useState(editing?.name ?? '');
  const [cron, setCron] = useState(editing ? String(editing.data.schedule ?? '') : '0 * * * *');
  const [zone, setZone] = useState<string | null>(editing ? String(editing.data.timezone ?? 'UTC') : browserTimeZone);
  const [target, setTarget] = useState<TriggerTarget>(editing ? targetFromData(editing.data) : NEW_TARGET);
  const client = useQueryClient();
  const save = useMutation({
    mutationFn: () => {
      const schedule = {
        name: name.trim() || null,
        data: { ...editing?.data, event_key: 'triggers.schedule.ticked', schedule: cron.trim(), timezone: zone, ...targetToData(target) },
      };
      return editing
        ? unwrap(
            api.PUT('/api/triggers/schedules/{schedule_id}', {
              params: { path: { schedule_id: editing.id } },
              body: { schedule: { ...schedule, id: editing.id, flags: editing.flags } },
            }),
          )
        : unwrap(api.POST('/api/triggers/schedules/', { body: { schedule } }));
    },
    onSuccess: () => {
      client.invalidateQueries({ queryKey: ['trigger-schedules'] });
      onClose();
    },
  });
  const cronFields = cron.trim().split(/\s+/).filter(Boolean).length;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  return (
    <Modal opened onClose={onClose} title={editing ? `Edit ${editing.name || 'schedule'}` : 'New schedule'} size="lg">
      <Stack component="form" onSubmit={submit} gap="sm">
        <TextInput label="Name" value={name} onChange={(event) => setName(event.currentTarget.value)} data-autofocus />
        <Group grow align="flex-start">
          <TextInput
            label="Cron"
            description="minute hour day-of-month month day-of-week"
            value={cron}
            onChange={(event) => setCron(event.currentTarget.value)}
            error={cronFields !== CRON_FIELDS ? `A cron expression has ${CRON_FIELDS} fields` : undefined}
            ff="monospace"
            required
          />
          <Select label="Time zone" description="The cron is read in it" data={zones} value={zone} onChange={setZone} searchable required />
        </Group>
        <TriggerTargetFields value={target} onChange={setTarget} inputsLabel="Inputs" />
        {save.isError && <ErrorAlert error={save.error} title={editing ? 'The schedule was not saved' : 'The schedule was not created'} />}
        <Group justify="flex-end">
          <Button type="submit" loading={save.isPending} disabled={cronFields !== CRON_FIELDS || !targetReady(target)}>
            {editing ? 'Save schedule' : 'Create schedule'}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

export function Schedules() {
  const schedules = useQuery({ queryKey: ['trigger-schedules'], queryFn: () => unwrap(api.GET('/api/triggers/schedules/')) });
  // null: no form; 'new'; or the schedule being edited.
  const [form, setForm] = useState<Schedule | 'new' | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const client = useQueryClient();
  const refresh = () => client.invalidateQueries({ queryKey: ['trigger-schedules'] });
  const toggle = useMutation({
    mutationFn: ({ id, active }: { id: string; active: boolean }) =>
      unwrap(api.POST(`/api/triggers/schedules/{schedule_id}/${active ? 'start' : 'stop'}`, { params: { path: { schedule_id: id } } })),
    onSuccess: refresh,
    onError: (error) => notifications.show({ color: 'red', message: error.message }),
  });
  const remove = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/triggers/schedules/{schedule_id}', { params: { path: { schedule_id: id } } })),
    onSuccess: refresh,
    onError: (error) => notifications.show({ color: 'red', message: error.message }),
  });
  const chosen = schedules.data?.schedules.find((item) => item.id === selected);
  return (
    <Stack>
      <Group justify="space-between">
        <Text size="sm" c="dimmed">
          Run an application or start an evaluation on a cron schedule.
        </Text>
        <Button leftSection={<IconPlus size={16} />} onClick={() => setForm('new')}>
          New schedule
        </Button>
      </Group>
      {schedules.isPending ? (
        <Loading label="Loading schedules" />
      ) : schedules.isError ? (
        <ErrorAlert error={schedules.error} onRetry={() => schedules.refetch()} />
      ) : schedules.data.schedules.length === 0 ? (
        <EmptyState title="No schedules" description="A schedule runs its target at each tick of a cron expression." />
      ) : (
        <Table highlightOnHover verticalSpacing="xs" aria-label="Schedules">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Cron</Table.Th>
              <Table.Th>Target</Table.Th>
              <Table.Th>Next tick</Table.Th>
              <Table.Th>Enabled</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {schedules.data.schedules.map((schedule) => (
              <Table.Tr key={schedule.id}>
                <Table.Td>{schedule.name || schedule.id.slice(0, 8)}</Table.Td>
                <Table.Td>
                  <Code>{String(schedule.data.schedule)}</Code>{' '}
                  <Text span size="xs" c="dimmed">
                    {String(schedule.data.timezone ?? 'UTC')}
                  </Text>
                </Table.Td>
                <Table.Td>{schedule.data.evaluation ? 'evaluation' : 'application'}</Table.Td>
                <Table.Td>{schedule.next_tick_at ? new Date(schedule.next_tick_at).toLocaleString() : '—'}</Table.Td>
                <Table.Td>
                  <Switch
                    aria-label={`Enabled: ${schedule.name ?? schedule.id}`}
                    checked={schedule.flags.is_active}
                    onChange={(event) => toggle.mutate({ id: schedule.id, active: event.currentTarget.checked })}
                  />
                </Table.Td>
                <Table.Td>
                  <RowActions
                    noun="schedule"
                    showingDeliveries={schedule.id === selected}
                    onDeliveries={() => setSelected(schedule.id === selected ? null : schedule.id)}
                    onEdit={() => setForm(schedule)}
                    onDelete={() => remove.mutate(schedule.id)}
                  />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {chosen && (
        <DeliveriesCard of={chosen}>
          <TriggerDeliveries filter={{ schedule_id: chosen.id }} emptyDescription="A delivery is recorded at each tick." />
        </DeliveriesCard>
      )}
      {form && <ScheduleForm key={form === 'new' ? 'new' : form.id} editing={form === 'new' ? null : form} onClose={() => setForm(null)} />}
    </Stack>
  );
}
