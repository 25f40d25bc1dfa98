import '@mantine/charts/styles.css';
import { AreaChart, BarChart, LineChart } from '@mantine/charts';
import { Paper, SimpleGrid, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useMemo, type ReactNode } from 'react';
import { api, unwrap } from '../../api/client';
import { EmptyState, ErrorAlert, Loading } from '../../components';
import { chartPoints } from './chartPoints';
import { analyticsQueryBody, filtersToParams, rangeLabel, type TraceFilters } from './filters';

function ChartCard({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Paper withBorder p="md" radius="md">
      <Title order={5} mb="sm">
        {title}
      </Title>
      {children}
    </Paper>
  );
}

/** Volume, latency percentiles, cost and errors over time, for the same filters as the list. */
export default function TracesCharts({ filters }: { filters: TraceFilters }) {
  const filterKey = filtersToParams(filters).toString();
  const body = useMemo(() => analyticsQueryBody(filters, new Date()), [filterKey]); // eslint-disable-line
  const query = useQuery({
    queryKey: ['spans-analytics', filterKey],
    queryFn: () => unwrap(api.POST('/api/spans/analytics/query', { body })),
  });
  if (query.isPending) return <Loading label="Loading charts" />;
  if (query.error) return <ErrorAlert error={query.error} title="Could not load charts" onRetry={() => query.refetch()} />;
  if (query.data.count === 0)
    return <EmptyState title="Nothing to chart" description="No spans match these filters in this time range." />;
  const interval = body.windowing.interval;
  const points = chartPoints(
    query.data.buckets,
    new Date(body.windowing.oldest),
    new Date(body.windowing.newest),
    interval,
  );
  const common = { h: 220, data: points, dataKey: 'time', withDots: false, curveType: 'monotone' as const };
  return (
    <>
      <Text size="sm" c="dimmed" mb="sm">
        {rangeLabel(filters)}
        {(filters.range === 'all' || (filters.range === 'custom' && !filters.from)) && ' (charts show the last 90 days)'}, in buckets of{' '}
        {interval >= 60 && interval % 60 === 0 ? `${interval / 60} h` : `${interval} min`}.
      </Text>
      <SimpleGrid cols={{ base: 1, md: 2 }} data-testid="traces-charts">
        <ChartCard title="Volume (spans)">
          <BarChart h={220} data={points} dataKey="time" series={[{ name: 'spans', color: 'indigo.6' }]} />
        </ChartCard>
        <ChartCard title="Latency (ms)">
          <LineChart
            {...common}
            withDots
            connectNulls={false}
            unit=" ms"
            withLegend
            series={[
              { name: 'p50', color: 'teal.6' },
              { name: 'p95', color: 'orange.6' },
            ]}
          />
        </ChartCard>
        <ChartCard title="Cost ($)">
          <AreaChart {...common} series={[{ name: 'cost', color: 'grape.6' }]} />
        </ChartCard>
        <ChartCard title="Errors">
          <BarChart h={220} data={points} dataKey="time" series={[{ name: 'errors', color: 'red.6' }]} />
        </ChartCard>
      </SimpleGrid>
    </>
  );
}
