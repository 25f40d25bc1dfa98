import {
  ActionIcon,
  Badge,
  Button,
  Card,
  Code,
  Group,
  Modal,
  ScrollArea,
  SegmentedControl,
  Select,
  Stack,
  Switch,
  Table,
  Text,
  TextInput,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPlus, IconTrash } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState, type FormEvent } from 'react';
import { api, unwrap } from '../../api/client';
import { CodeEditor, EmptyState, ErrorAlert, Loading } from '../../components';
import { useApplicationRevisionChoices } from '../evaluations/lookups';

const CRON_FIELDS = 5;
const EVALUATION_EXAMPLE = JSON.stringify(
  { testset_steps: { '<testset revision id>': 'custom' }, application_steps: { '<application revision id>': 'custom' }, evaluator_steps: {} },
  null,
  2,
);

function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** IANA zones the browser knows, with UTC and the browser's own first (Chromium's list omits "UTC"). */
function timeZones(): string[] {
  const supported = (Intl as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf;
  return [...new Set(['UTC', browserTimeZone(), ...(supported ? supported('timeZone') : [])])];
}

function parseJson(text: string, what: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    /* reported below */
  }
  throw new Error(`${what} must be a JSON object`);
}

function CreateSchedule({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const zones = useMemo(timeZones, []);
  const revisions = useApplicationRevisionChoices();
  const [name, setName] = useState('');
  const [cron, setCron] = useState('0 * * * *');
  const [zone, setZone] = useState<string | null>(browserTimeZone);
  const [target, setTarget] = useState<'application' | 'evaluation'>('application');
  const [revision, setRevision] = useState<string | null>(null);
  const [inputs, setInputs] = useState('{}');
  const [evaluation, setEvaluation] = useState(EVALUATION_EXAMPLE);
  const client = useQueryClient();
  const create = useMutation({
    mutationFn: () => {
      const targetData =
        target === 'application'
          ? { references: { application_revision: { id: revision } }, inputs_fields: parseJson(inputs, 'Inputs') }
          : { evaluation: parseJson(evaluation, 'The evaluation') };
      return unwrap(
        api.POST('/api/triggers/schedules/', {
          body: {
            schedule: {
              name: name.trim() || null,
              data: { event_key: 'triggers.schedule.ticked', schedule: cron.trim(), timezone: zone, ...targetData },
            },
          },
        }),
      );
    },
    onSuccess: () => {
      client.invalidateQueries({ queryKey: ['trigger-schedules'] });
      setName('');
      onClose();
    },
  });
  const cronFields = cron.trim().split(/\s+/).filter(Boolean).length;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <Modal opened={opened} onClose={onClose} title="New schedule" size="lg">
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
        <SegmentedControl
          value={target}
          onChange={(value) => setTarget(value as 'application' | 'evaluation')}
          data={[
            { value: 'application', label: 'Run an application' },
            { value: 'evaluation', label: 'Start an evaluation' },
          ]}
        />
        {target === 'application' ? (
          <>
            <Select
              label="Application revision"
              data={revisions.data ?? []}
              value={revision}
              onChange={setRevision}
              searchable
              required
              placeholder={revisions.isPending ? 'Loading…' : 'Choose a revision'}
            />
            <Text size="sm" fw={500}>
              Inputs
            </Text>
            <CodeEditor value={inputs} onChange={setInputs} language="json" label="Inputs (JSON)" minHeight="80px" />
          </>
        ) : (
          <>
            <Text size="sm" fw={500}>
              Evaluation (the data of a new evaluation)
            </Text>
            <CodeEditor value={evaluation} onChange={setEvaluation} language="json" label="Evaluation (JSON)" />
          </>
        )}
        {create.isError && <ErrorAlert error={create.error} title="The schedule was not created" />}
        <Group justify="flex-end">
          <Button type="submit" loading={create.isPending} disabled={cronFields !== CRON_FIELDS || (target === 'application' && !revision)}>
            Create schedule
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

function ScheduleDeliveries({ scheduleId }: { scheduleId: string }) {
  const deliveries = useQuery({
    queryKey: ['trigger-deliveries', scheduleId],
    queryFn: () => unwrap(api.POST('/api/triggers/deliveries/query', { body: { delivery: { schedule_id: scheduleId } } })),
    refetchInterval: 10_000,
  });
  if (deliveries.isPending) return <Loading label="Loading deliveries" />;
  if (deliveries.isError) return <ErrorAlert error={deliveries.error} />;
  if (deliveries.data.deliveries.length === 0) return <EmptyState title="No deliveries yet" description="A delivery is recorded at each tick." />;
  return (
    <ScrollArea type="auto">
      <Table fz="sm" withTableBorder aria-label="Schedule deliveries">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>When</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Result</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {deliveries.data.deliveries.map((delivery) => (
            <Table.Tr key={delivery.id}>
              <Table.Td>{delivery.created_at ? new Date(delivery.created_at).toLocaleString() : ''}</Table.Td>
              <Table.Td>
                <Badge variant="light" color={delivery.status.code === 'success' || delivery.status.message === 'success' ? 'green' : 'gray'}>
                  {delivery.status.message ?? delivery.status.code}
                </Badge>
              </Table.Td>
              <Table.Td maw={480}>
                <Text size="xs" lineClamp={2}>
                  {JSON.stringify(delivery.data?.result ?? delivery.data?.error ?? null)}
                </Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </ScrollArea>
  );
}

export function Schedules() {
  const schedules = useQuery({ queryKey: ['trigger-schedules'], queryFn: () => unwrap(api.GET('/api/triggers/schedules/')) });
  const [creating, setCreating] = useState(false);
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
        <Button leftSection={<IconPlus size={16} />} onClick={() => setCreating(true)}>
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
                  <Group gap={4} wrap="nowrap">
                    <Button size="compact-xs" variant={schedule.id === selected ? 'filled' : 'default'} onClick={() => setSelected(schedule.id === selected ? null : schedule.id)}>
                      Deliveries
                    </Button>
                    <ActionIcon size="sm" variant="subtle" color="red" aria-label="Delete schedule" onClick={() => remove.mutate(schedule.id)}>
                      <IconTrash size={14} />
                    </ActionIcon>
                  </Group>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {chosen && (
        <Card withBorder>
          <Text fw={500} mb="xs">
            Deliveries of {chosen.name || chosen.id.slice(0, 8)}
          </Text>
          <ScheduleDeliveries scheduleId={chosen.id} />
        </Card>
      )}
      <CreateSchedule opened={creating} onClose={() => setCreating(false)} />
    </Stack>
  );
}
