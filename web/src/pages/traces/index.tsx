import { Tabs } from '@mantine/core';
import { lazy, Suspense } from 'react';
import { Route, Routes, useLocation, useNavigate } from 'react-router-dom';
import { Loading, PageHeader } from '../../components';
import { FilterBar, useTraceFilters } from './FilterBar';
import { TracesList } from './TracesList';

// The list's chunk holds only the list, whose first rows must show quickly; recharts (~115 kB gzipped) loads
// with the Charts tab, the tree and its JSON views with a trace.
const TracesCharts = lazy(() => import('./TracesCharts'));
const TraceDetail = lazy(() => import('./TraceDetail'));

/** /traces (the list) and /traces/analytics (the charts) share the filters, which live in the URL query. */
function TracesOverview({ view }: { view: 'list' | 'charts' }) {
  const [filters, setFilters] = useTraceFilters();
  const navigate = useNavigate();
  const { search } = useLocation();
  return (
    <>
      <PageHeader title="Traces" description="Spans your applications sent: filter them, open a trace, chart them." />
      <FilterBar filters={filters} onChange={setFilters} />
      <Tabs
        value={view}
        onChange={(value) => navigate({ pathname: value === 'charts' ? '/traces/analytics' : '/traces', search })}
        mb="md"
      >
        <Tabs.List>
          <Tabs.Tab value="list">List</Tabs.Tab>
          <Tabs.Tab value="charts">Charts</Tabs.Tab>
        </Tabs.List>
      </Tabs>
      {view === 'list' ? (
        <TracesList filters={filters} />
      ) : (
        <Suspense fallback={<Loading label="Loading charts" />}>
          <TracesCharts filters={filters} />
        </Suspense>
      )}
    </>
  );
}

export default function TracesPage() {
  return (
    <Routes>
      <Route index element={<TracesOverview view="list" />} />
      <Route path="analytics" element={<TracesOverview view="charts" />} />
      <Route
        path=":traceId"
        element={
          <Suspense fallback={<Loading label="Loading trace" />}>
            <TraceDetail />
          </Suspense>
        }
      />
    </Routes>
  );
}
