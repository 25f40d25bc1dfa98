import '@mantine/charts/styles.css';
import {
  Anchor,
  Badge,
  Button,
  Card,
  Code,
  Group,
  Modal,
  NumberInput,
  ScrollArea,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Textarea,
  Title,
  Tooltip,
} from '@mantine/core';
import { BarChart } from '@mantine/charts';
import { notifications } from '@mantine/notifications';
import { IconExternalLink, IconPlayerPlay, IconPlayerStop, IconLock, IconRefresh } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { EmptyState, ErrorAlert, Loading, PageHeader } from '../../components';
import { useEvaluatorNames } from './lookups';
import {
  APPLICATION_STEP,
  formatValue,
  isActive,
  metricRows,
  POLL_MS,
  STATUS_COLORS,
  stepLabel,
  window,
  type Run,
} from './model';
import { resultRows, type ResultRow } from './results';
import { RunProgress } from './RunProgress';

// The API answers at most 1000 rows a page; a run's table reads up to MAX_PAGES pages, by id cursor.
const PAGE = 1000;
const MAX_PAGES = 10;

async function allPages<T extends { id: string }>(page: (next: string | null) => Promise<T[]>): Promise<T[]> {
  const rows: T[] = [];
  let next: string | null = null;
  for (let count = 0; count < MAX_PAGES; count++) {
    const batch = await page(next);
    rows.push(...batch);
    if (batch.length < PAGE) break;
    next = batch[batch.length - 1].id;
  }
  return rows;
}

function useRunData(runId: string, active: boolean) {
  const refetchInterval = active ? POLL_MS : false;
  const scenarios = useQuery({
    queryKey: ['evaluation-run', runId, 'scenarios'],
    queryFn: () =>
      allPages(async (next) => {
        const answer = await unwrap(
          api.POST('/api/evaluations/scenarios/query', {
            body: { scenario: { run_id: runId }, windowing: { ...window(PAGE), next } },
          }),
        );
        return answer.scenarios;
      }),
    refetchInterval,
  });
  // Repeat 0 only: the table shows one output per scenario; the metrics aggregate every repeat.
  const results = useQuery({
    queryKey: ['evaluation-run', runId, 'results'],
    queryFn: () =>
      allPages(async (next) => {
        const answer = await unwrap(
          api.POST('/api/evaluations/results/query', {
            body: { result: { run_id: runId, repeat_idx: 0 }, windowing: { ...window(PAGE), next } },
          }),
        );
        return answer.results;
      }),
    refetchInterval,
  });
  const metrics = useQuery({
    queryKey: ['evaluation-run', runId, 'metrics'],
    queryFn: () =>
      unwrap(
        api.POST('/api/evaluations/metrics/query', { body: { metrics: { run_id: runId, scenario_ids: false } } }),
      ),
    refetchInterval,
  });
  // The last poll may precede the run's end: once it ends, read its rows and metrics once more.
  const client = useQueryClient();
  const wasActive = useRef(active);
  useEffect(() => {
    if (wasActive.current && !active) {
      for (const part of ['scenarios', 'results', 'metrics'])
        client.invalidateQueries({ queryKey: ['evaluation-run', runId, part] });
    }
    wasActive.current = active;
  }, [active, client, runId]);
  return { scenarios, results, metrics };
}

function RunActions({ run }: { run: Run }) {
  const client = useQueryClient();
  const act = useMutation({
    mutationFn: (action: 'start' | 'stop' | 'close' | 'rerun') =>
      unwrap(
        api.POST(`/api/simple/evaluations/{evaluation_id}/${action}`, {
          params: { path: { evaluation_id: run.id } },
        }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: ['evaluation-run', run.id] }),
    onError: (error) => notifications.show({ color: 'red', title: 'The run did not change', message: error.message }),
  });
  const closed = Boolean(run.flags?.is_closed);
  const failed = (run.progress?.failure ?? 0) + (run.progress?.errors ?? 0);
  return (
    <>
      {run.status === 'pending' && (
        <Button size="xs" leftSection={<IconPlayerPlay size={14} />} onClick={() => act.mutate('start')} loading={act.isPending} disabled={closed}>
          Start
        </Button>
      )}
      {isActive(run) && (
        <Button size="xs" color="red" variant="light" leftSection={<IconPlayerStop size={14} />} onClick={() => act.mutate('stop')} loading={act.isPending}>
          Stop
        </Button>
      )}
      {!isActive(run) && failed > 0 && !closed && (
        <Button size="xs" variant="light" leftSection={<IconRefresh size={14} />} onClick={() => act.mutate('rerun')} loading={act.isPending}>
          Re-run failed ({failed})
        </Button>
      )}
      {!closed && (
        <Tooltip label="Lock the run against edits (stops it if it is still running)">
          <Button size="xs" variant="default" leftSection={<IconLock size={14} />} onClick={() => act.mutate('close')} loading={act.isPending}>
            Close
          </Button>
        </Tooltip>
      )}
    </>
  );
}

function MetricCharts({ data, names }: { data: Record<string, unknown> | undefined; names: Record<string, string> }) {
  const rows = metricRows(data);
  if (rows.length === 0)
    return <EmptyState title="No metrics yet" description="Metrics are aggregated when the run finishes." />;
  const scores = rows
    // Each step's `error` rate is in the table; the chart keeps to the scores.
    .filter((row) => row.step !== APPLICATION_STEP && row.path !== 'error' && row.value !== null)
    .map((row) => ({ metric: `${stepLabel(row.step, names)} · ${row.path}`, value: row.value as number }));
  const latency = rows.find((row) => row.step === APPLICATION_STEP && row.path === 'latency_ms');
  const percentiles = latency
    ? ['p50', 'p90', 'p95', 'p99']
        .filter((p) => typeof latency.stats[p] === 'number')
        .map((p) => ({ metric: p, ms: latency.stats[p] as number }))
    : [];
  return (
    <Stack>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Card withBorder>
          <Text fw={500} mb="xs">
            Scores (rate or mean)
          </Text>
          {scores.length ? (
            <BarChart h={220} data={scores} dataKey="metric" series={[{ name: 'value', color: 'indigo.6', label: 'Score' }]} valueFormatter={(v) => v.toFixed(2)} />
          ) : (
            <Text size="sm" c="dimmed">
              No evaluator scores.
            </Text>
          )}
        </Card>
        <Card withBorder>
          <Text fw={500} mb="xs">
            Application latency (ms)
          </Text>
          {percentiles.length ? (
            <BarChart h={220} data={percentiles} dataKey="metric" series={[{ name: 'ms', color: 'teal.6', label: 'Latency' }]} valueFormatter={(v) => `${v.toFixed(0)} ms`} />
          ) : (
            <Text size="sm" c="dimmed">
              No latency recorded.
            </Text>
          )}
        </Card>
      </SimpleGrid>
      <Table fz="sm" withTableBorder aria-label="Metrics">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Step</Table.Th>
            <Table.Th>Metric</Table.Th>
            <Table.Th>Value</Table.Th>
            <Table.Th>Count</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((row) => (
            <Table.Tr key={`${row.step}.${row.path}`}>
              <Table.Td>{stepLabel(row.step, names)}</Table.Td>
              <Table.Td>{row.path}</Table.Td>
              <Table.Td>
                {formatValue(row.value)} {row.kind !== 'none' && <Text span size="xs" c="dimmed">({row.kind})</Text>}
              </Table.Td>
              <Table.Td>{formatValue(row.stats.count)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}

function AnnotateModal({ row, runId, onClose }: { row: ResultRow; runId: string; onClose: () => void }) {
  const initial = row.human?.outputs.score;
  const [score, setScore] = useState<number | string>(typeof initial === 'number' ? initial : '');
  const [note, setNote] = useState(row.human?.note ?? '');
  const client = useQueryClient();
  const annotate = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/api/evaluations/scenarios/{scenario_id}/annotate', {
          params: { path: { scenario_id: row.scenario.id } },
          body: { annotation: { step_key: 'human', repeat_idx: 0, outputs: { score: Number(score) }, note: note.trim() || null } },
        }),
      ),
    onSuccess: () => {
      client.invalidateQueries({ queryKey: ['evaluation-run', runId] });
      notifications.show({ color: 'green', message: 'Annotation saved' });
      onClose();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    annotate.mutate();
  };
  return (
    <Modal opened onClose={onClose} title="Annotate the scenario">
      <Stack component="form" onSubmit={submit} gap="sm">
        <Text size="sm" c="dimmed" lineClamp={3}>
          Output: {formatValue(row.output)}
        </Text>
        <NumberInput label="Score" description="0 (bad) to 1 (good)" min={0} max={1} step={0.1} decimalScale={2} value={score} onChange={setScore} required data-autofocus />
        <Textarea label="Note" autosize minRows={2} value={note} onChange={(event) => setNote(event.currentTarget.value)} />
        {annotate.isError && <ErrorAlert error={annotate.error} title="Not saved" />}
        <Group justify="flex-end">
          <Button type="submit" loading={annotate.isPending} disabled={score === ''}>
            Save annotation
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

function ScoreCell({ score }: { score: ResultRow['scores'][string] | undefined }) {
  if (!score) return <Text c="dimmed">—</Text>;
  if (score.error)
    return (
      <Tooltip label={score.error} multiline w={300}>
        <Badge color="red" variant="light">
          error
        </Badge>
      </Tooltip>
    );
  const outputs = (score.outputs ?? {}) as Record<string, unknown>;
  return (
    <Group gap={4}>
      {Object.entries(outputs).map(([key, value]) =>
        typeof value === 'boolean' ? (
          <Badge key={key} color={value ? 'green' : 'red'} variant="light" style={{ textTransform: 'none' }}>
            {key}: {String(value)}
          </Badge>
        ) : (
          <Text key={key} size="xs">
            {key}: {formatValue(value)}
          </Text>
        ),
      )}
    </Group>
  );
}

function ResultsTable({ rows, steps, names, runId }: { rows: ResultRow[]; steps: string[]; names: Record<string, string>; runId: string }) {
  const [annotating, setAnnotating] = useState<ResultRow | null>(null);
  if (rows.length === 0) return <EmptyState title="No scenarios" />;
  const inputKeys = [...new Set(rows.flatMap((row) => Object.keys(row.scenario.inputs ?? {})))];
  return (
    <>
      <ScrollArea type="auto">
        <Table withTableBorder verticalSpacing="xs" fz="sm" aria-label="Results" miw={900}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>#</Table.Th>
              <Table.Th>Inputs</Table.Th>
              <Table.Th>Output</Table.Th>
              {steps.map((step) => (
                <Table.Th key={step}>{stepLabel(step, names)}</Table.Th>
              ))}
              <Table.Th>Human</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((row, index) => (
              <Table.Tr key={row.scenario.id} data-testid="result-row">
                <Table.Td>{index + 1}</Table.Td>
                <Table.Td maw={260}>
                  {inputKeys.map((key) => (
                    <Text key={key} size="xs" lineClamp={2}>
                      <Text span c="dimmed" size="xs">
                        {key}:
                      </Text>{' '}
                      {formatValue(row.scenario.inputs?.[key])}
                    </Text>
                  ))}
                </Table.Td>
                <Table.Td maw={300}>
                  {row.applicationError ? (
                    <Text size="xs" c="red">
                      {row.applicationError}
                    </Text>
                  ) : (
                    <Text size="sm" lineClamp={3}>
                      {formatValue(row.output)}
                    </Text>
                  )}
                  {row.traceId && (
                    <Anchor component={Link} to={`/traces/${row.traceId}`} size="xs" aria-label={`Trace of scenario ${index + 1}`}>
                      trace <IconExternalLink size={10} />
                    </Anchor>
                  )}
                  {row.latencyMs !== null && (
                    <Text span size="xs" c="dimmed">
                      {' '}
                      · {Math.round(row.latencyMs)} ms
                    </Text>
                  )}
                </Table.Td>
                {steps.map((step) => (
                  <Table.Td key={step}>
                    <ScoreCell score={row.scores[step]} />
                  </Table.Td>
                ))}
                <Table.Td>
                  {row.human ? (
                    <Stack gap={0}>
                      <Text size="sm">score {formatValue(row.human.outputs.score)}</Text>
                      {row.human.note && (
                        <Text size="xs" c="dimmed" lineClamp={2}>
                          {row.human.note}
                        </Text>
                      )}
                    </Stack>
                  ) : (
                    <Text c="dimmed">—</Text>
                  )}
                </Table.Td>
                <Table.Td>
                  <Tooltip label={row.scenario.error ?? row.scenario.status} disabled={!row.scenario.error}>
                    <Badge color={STATUS_COLORS[row.scenario.status] ?? 'gray'} variant="light">
                      {row.scenario.status}
                    </Badge>
                  </Tooltip>
                </Table.Td>
                <Table.Td>
                  <Button size="compact-xs" variant="subtle" onClick={() => setAnnotating(row)} aria-label={`Annotate scenario ${index + 1}`}>
                    Annotate
                  </Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </ScrollArea>
      {annotating && <AnnotateModal row={annotating} runId={runId} onClose={() => setAnnotating(null)} />}
    </>
  );
}

export function RunDetail() {
  const { runId = '' } = useParams();
  const names = useEvaluatorNames();
  const run = useQuery({
    queryKey: ['evaluation-run', runId],
    queryFn: () => unwrap(api.GET('/api/evaluations/runs/{run_id}', { params: { path: { run_id: runId } } })),
    refetchInterval: (query) => (isActive(query.state.data?.run ?? undefined) ? POLL_MS : false),
  });
  const found = run.data?.run ?? undefined;
  const { scenarios, results, metrics } = useRunData(runId, isActive(found));
  const table = useMemo(
    () => resultRows(scenarios.data ?? [], results.data ?? []),
    [scenarios.data, results.data],
  );
  if (run.isPending) return <Loading label="Loading the run" />;
  if (run.isError || !found)
    return (
      <>
        <PageHeader title="Evaluation" />
        <ErrorAlert error={run.error ?? 'Not found'} onRetry={() => run.refetch()} />
      </>
    );
  const globalMetrics = metrics.data?.metrics.find((row) => !row.scenario_id)?.data;
  return (
    <>
      <PageHeader
        title={found.name || `Run ${found.id.slice(0, 8)}`}
        description={
          <>
            <Anchor component={Link} to="/evaluations" size="sm">
              Evaluations
            </Anchor>{' '}
            · <Code>{found.id}</Code>
          </>
        }
        actions={<RunActions run={found} />}
      />
      <Card withBorder mb="md">
        <Group justify="space-between" mb="xs">
          <Group gap="xs">
            <Badge color={STATUS_COLORS[found.status] ?? 'gray'} data-testid="run-status">
              {found.status}
            </Badge>
            {found.flags?.is_closed ? <Badge variant="outline">closed</Badge> : null}
          </Group>
          <Text size="xs" c="dimmed">
            repeats {formatValue(found.data?.repeats)} · concurrency {formatValue(found.data?.concurrency)}
          </Text>
        </Group>
        <RunProgress run={found} size="lg" />
      </Card>
      <Title order={4} mb="xs">
        Metrics
      </Title>
      {metrics.isError ? <ErrorAlert error={metrics.error} /> : <MetricCharts data={globalMetrics} names={names} />}
      <Title order={4} mt="lg" mb="xs">
        Results
      </Title>
      {scenarios.isPending || results.isPending ? (
        <Loading label="Loading results" />
      ) : scenarios.isError || results.isError ? (
        <ErrorAlert error={scenarios.error ?? results.error} />
      ) : (
        <ResultsTable rows={table.rows} steps={table.steps} names={names} runId={runId} />
      )}
    </>
  );
}
