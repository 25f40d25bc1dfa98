import '@mantine/charts/styles.css';
import { Anchor, Badge, Card, Group, ScrollArea, Stack, Table, Text, Title } from '@mantine/core';
import { BarChart } from '@mantine/charts';
import { useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { EmptyState, ErrorAlert, Loading, PageHeader } from '../../components';
import { useEvaluatorNames } from './lookups';
import { formatValue, shortId, STATUS_COLORS, stepLabel } from './model';

const COLORS = ['indigo.6', 'teal.6', 'orange.6', 'grape.6', 'cyan.6', 'pink.6', 'lime.6', 'red.6', 'blue.6', 'yellow.6'];

/** `evaluator.<id>.success.rate` -> [step, path, stat] (the step key itself may hold one dot). */
function splitMetric(path: string): [string, string, string] {
  const parts = path.split('.');
  const stat = parts.pop() as string;
  const stepParts = parts[0] === 'evaluator' || parts[0] === 'human' ? 2 : 1;
  const step = parts.slice(0, Math.min(stepParts, parts.length - 1)).join('.');
  return [step, parts.slice(step.split('.').length).join('.'), stat];
}

// Metrics where less is better (time, money, tokens, error rates): a drop is the good news.
const LOWER_IS_BETTER = /latency|cost|tokens|error/;

function Delta({ value, path }: { value: number | null | undefined; path: string }) {
  if (value === null || value === undefined) return <Text c="dimmed">—</Text>;
  const better = LOWER_IS_BETTER.test(path) ? -value : value;
  const color = better > 0 ? 'green' : better < 0 ? 'red' : 'dimmed';
  return (
    <Text size="sm" c={color} span>
      {value > 0 ? '+' : ''}
      {formatValue(value)}
    </Text>
  );
}

export function CompareRuns() {
  const [params] = useSearchParams();
  const runIds = (params.get('runs') ?? '').split(',').filter(Boolean);
  const names = useEvaluatorNames();
  const compared = useQuery({
    queryKey: ['evaluation-compare', runIds],
    queryFn: () => unwrap(api.POST('/api/evaluations/runs/compare', { body: { run_ids: runIds } })),
    enabled: runIds.length >= 2,
  });
  const runs = useQuery({
    queryKey: ['evaluation-runs', 'by-id', runIds],
    queryFn: () =>
      unwrap(api.POST('/api/evaluations/runs/query', { body: { run: { ids: runIds }, windowing: { limit: 10, order: 'ascending' } } })),
    enabled: runIds.length >= 2,
  });
  const runName = (id: string) => {
    const run = runs.data?.runs.find((item) => item.id === id);
    return run?.name || `Run ${shortId(id)}`;
  };
  const header = (
    <PageHeader
      title="Compare runs"
      description={
        <Anchor component={Link} to="/evaluations" size="sm">
          Evaluations
        </Anchor>
      }
    />
  );
  if (runIds.length < 2)
    return (
      <>
        {header}
        <EmptyState title="Choose two runs or more" description="Select runs in the list of evaluations, then Compare." />
      </>
    );
  if (compared.isPending) return <Loading label="Comparing" />;
  if (compared.isError)
    return (
      <>
        {header}
        <ErrorAlert error={compared.error} onRetry={() => compared.refetch()} />
      </>
    );
  const ids = compared.data.run_ids;
  const deltas = Object.entries(compared.data.deltas).map(([path, entry]) => {
    const [step, metric, stat] = splitMetric(path);
    return {
      path,
      label: `${stepLabel(step, names)} · ${metric} (${stat})`,
      values: (entry.values ?? {}) as Record<string, number | null>,
      deltas: (entry.deltas ?? {}) as Record<string, number | null>,
    };
  });
  // Scores only: latency and tokens have their own scales, and every step's `error` rate is in the table.
  const chartable = deltas.filter((row) => !row.path.startsWith('application.') && !row.path.includes('.error.'));
  return (
    <>
      {header}
      <Stack>
        <Card withBorder>
          <Text fw={500} mb="xs">
            Scores by run
          </Text>
          {chartable.length ? (
            <BarChart
              h={240}
              data={chartable.map((row) => ({
                metric: row.label,
                ...Object.fromEntries(ids.map((id) => [id, row.values[id] ?? 0])),
              }))}
              dataKey="metric"
              series={ids.map((id, index) => ({ name: id, label: runName(id), color: COLORS[index % COLORS.length] }))}
              withLegend
              valueFormatter={(value) => value.toFixed(2)}
            />
          ) : (
            <Text size="sm" c="dimmed">
              No evaluator scores to compare.
            </Text>
          )}
        </Card>
        <Title order={4}>Metric deltas (against {runName(ids[0])})</Title>
        <ScrollArea type="auto">
          <Table withTableBorder fz="sm" aria-label="Metric deltas">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Metric</Table.Th>
                {ids.map((id, index) => (
                  <Table.Th key={id}>
                    <Anchor component={Link} to={`/evaluations/${id}`}>
                      {runName(id)}
                    </Anchor>
                    {index > 0 && <Text span size="xs" c="dimmed"> (Δ)</Text>}
                  </Table.Th>
                ))}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {deltas.map((row) => (
                <Table.Tr key={row.path}>
                  <Table.Td>{row.label}</Table.Td>
                  {ids.map((id, index) => (
                    <Table.Td key={id}>
                      <Group gap={6}>
                        <Text size="sm">{formatValue(row.values[id])}</Text>
                        {index > 0 && <Delta value={row.deltas[id]} path={row.path} />}
                      </Group>
                    </Table.Td>
                  ))}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollArea>
        <Title order={4}>Side by side</Title>
        <ScrollArea type="auto">
          <Table withTableBorder withColumnBorders fz="sm" aria-label="Scenarios side by side" miw={900}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Inputs</Table.Th>
                {ids.map((id) => (
                  <Table.Th key={id}>{runName(id)}</Table.Th>
                ))}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {compared.data.scenarios.map((scenario, index) => (
                <Table.Tr key={scenario.testcase_id ?? index}>
                  <Table.Td maw={240}>
                    {Object.entries(scenario.inputs ?? {}).map(([key, value]) => (
                      <Text key={key} size="xs" lineClamp={2}>
                        <Text span size="xs" c="dimmed">
                          {key}:
                        </Text>{' '}
                        {formatValue(value)}
                      </Text>
                    ))}
                  </Table.Td>
                  {ids.map((id) => {
                    const cell = scenario.runs[id] as
                      | { status?: string; outputs?: unknown; scores?: Record<string, Record<string, unknown>> }
                      | undefined;
                    if (!cell)
                      return (
                        <Table.Td key={id}>
                          <Text c="dimmed">—</Text>
                        </Table.Td>
                      );
                    return (
                      <Table.Td key={id} maw={320}>
                        <Text size="sm" lineClamp={3}>
                          {formatValue(cell.outputs)}
                        </Text>
                        <Group gap={4} mt={4}>
                          <Badge size="xs" variant="light" color={STATUS_COLORS[cell.status ?? ''] ?? 'gray'}>
                            {cell.status}
                          </Badge>
                          {Object.entries(cell.scores ?? {}).map(([step, outputs]) =>
                            Object.entries(outputs ?? {}).map(([key, value]) => (
                              <Badge
                                key={`${step}.${key}`}
                                size="xs"
                                variant="outline"
                                color={value === true ? 'green' : value === false ? 'red' : 'gray'}
                                style={{ textTransform: 'none' }}
                              >
                                {stepLabel(step, names)} {key}: {formatValue(value)}
                              </Badge>
                            )),
                          )}
                        </Group>
                      </Table.Td>
                    );
                  })}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollArea>
      </Stack>
    </>
  );
}
