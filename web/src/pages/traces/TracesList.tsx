import { Badge, Button, Checkbox, Group, Table, Text, Tooltip } from '@mantine/core';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { lazy, Suspense, useMemo, useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { EmptyState, ErrorAlert, Loading } from '../../components';
import type { SpanRef } from './AddToTestsetModal';
import { filtersToParams, type TraceFilters } from './filters';
import { earlyPageFor, fetchPage, forgetEarlyPage } from './firstPage';
import { formatCost, formatDuration, formatTime, formatTokens, summarize, type SpanView } from './spans';

// Loaded when first opened: the list's chunk stays small.
const AddToTestsetModal = lazy(() => import('./AddToTestsetModal').then((module) => ({ default: module.AddToTestsetModal })));

const spanKey = (span: SpanRef) => `${span.trace_id}:${span.span_id}`;

/** One page (50 spans, newest first) of the filtered spans, paged by the API's cursor; rows can be selected
 * (across pages) and added to a test set. */
export function TracesList({ filters }: { filters: TraceFilters }) {
  const navigate = useNavigate();
  const filterKey = filtersToParams(filters).toString();
  // The cursors of the pages before this one: Older pushes the current page's `next`, Newer pops.
  const [pages, setPages] = useState<{ key: string; cursors: (string | null)[] }>({ key: filterKey, cursors: [null] });
  const cursors = pages.key === filterKey ? pages.cursors : [null];
  const cursor = cursors[cursors.length - 1];
  // "Last hour" means the hour before the filters were chosen, not a window sliding under the pages.
  const now = useMemo(() => earlyPageFor(filterKey)?.now ?? new Date(), [filterKey]);
  const [selected, setSelected] = useState<Map<string, SpanRef>>(new Map());
  const [adding, setAdding] = useState(false);
  const query = useQuery({
    queryKey: ['spans', filterKey, cursor],
    queryFn: () => {
      const early = cursor === null ? earlyPageFor(filterKey) : null;
      forgetEarlyPage();
      return early && early.now === now ? early.response : fetchPage(filters, now, cursor);
    },
    placeholderData: keepPreviousData,
  });
  if (query.isPending) return <Loading label="Loading traces" />;
  if (query.error) return <ErrorAlert error={query.error} title="Could not load traces" onRetry={() => query.refetch()} />;
  const spans: SpanView[] = query.data.spans ?? [];
  const next = query.data.windowing?.next ?? null;
  const toggle = (span: SpanRef) =>
    setSelected((current) => {
      const updated = new Map(current);
      if (updated.has(spanKey(span))) updated.delete(spanKey(span));
      else updated.set(spanKey(span), { trace_id: span.trace_id, span_id: span.span_id });
      return updated;
    });
  const allOnPage = spans.length > 0 && spans.every((span) => selected.has(spanKey(span)));
  const toggleAll = () =>
    setSelected((current) => {
      const updated = new Map(current);
      for (const span of spans) {
        if (allOnPage) updated.delete(spanKey(span));
        else updated.set(spanKey(span), { trace_id: span.trace_id, span_id: span.span_id });
      }
      return updated;
    });
  const pager = (
    <Group justify="space-between" mt="sm">
      <Text size="sm" c="dimmed">
        Page {cursors.length} · {spans.length} {spans.length === 1 ? 'row' : 'rows'}
        {query.isFetching && ' · refreshing…'}
      </Text>
      <Group gap="xs">
        <Button
          size="xs"
          variant="default"
          disabled={cursors.length === 1}
          onClick={() => setPages({ key: filterKey, cursors: cursors.slice(0, -1) })}
        >
          Newer
        </Button>
        <Button
          size="xs"
          variant="default"
          disabled={!next}
          onClick={() => next && setPages({ key: filterKey, cursors: [...cursors, next] })}
        >
          Older
        </Button>
      </Group>
    </Group>
  );
  return (
    <>
      <Group justify="space-between" mb="xs">
        <Text size="sm">
          {selected.size > 0 ? `${selected.size} selected` : 'Select spans to add them to a test set.'}
        </Text>
        <Group gap="xs">
          {selected.size > 0 && (
            <Button size="xs" variant="subtle" onClick={() => setSelected(new Map())}>
              Clear selection
            </Button>
          )}
          <Button size="xs" disabled={selected.size === 0} onClick={() => setAdding(true)}>
            Add to test set
          </Button>
        </Group>
      </Group>
      {spans.length === 0 ? (
        <EmptyState
          title="No traces match"
          description="Send spans to /api/otlp/v1/traces, run an application in the playground, or widen the filters."
        />
      ) : (
        <Table.ScrollContainer minWidth={900}>
          <Table highlightOnHover striped verticalSpacing={6} fz="sm" data-testid="traces-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th w={36}>
                  <Checkbox aria-label="Select every row on this page" checked={allOnPage} onChange={toggleAll} />
                </Table.Th>
                <Table.Th>Time</Table.Th>
                <Table.Th>Name</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th ta="right">Latency</Table.Th>
                <Table.Th ta="right">Tokens</Table.Th>
                <Table.Th ta="right">Cost</Table.Th>
                <Table.Th>Model</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {spans.map((span) => {
                // A root span carries its trace's sums (cumulative): the row of a trace shows what it all cost.
                const summary = summarize(span, 'cumulative');
                const href = `/traces/${span.trace_id}?span=${span.span_id}`;
                return (
                  <Table.Tr
                    key={spanKey(span)}
                    data-testid="trace-row"
                    style={{ cursor: 'pointer' }}
                    onClick={() => navigate(href)}
                  >
                    <Table.Td onClick={(event) => event.stopPropagation()}>
                      <Checkbox
                        aria-label={`Select ${span.span_name} ${span.span_id}`}
                        checked={selected.has(spanKey(span))}
                        onChange={() => toggle(span)}
                      />
                    </Table.Td>
                    <Table.Td style={{ whiteSpace: 'nowrap' }} title={span.start_time}>
                      {formatTime(span.start_time)}
                    </Table.Td>
                    <Table.Td>
                      <Link to={href} onClick={(event) => event.stopPropagation()}>
                        {span.span_name}
                      </Link>
                    </Table.Td>
                    <Table.Td>
                      {summary.isError ? (
                        <Tooltip label={span.status_message || 'error'} disabled={!span.status_message}>
                          <Badge color="red" variant="light">
                            error
                          </Badge>
                        </Tooltip>
                      ) : (
                        <Badge color="green" variant="light">
                          ok
                        </Badge>
                      )}
                    </Table.Td>
                    <Table.Td ta="right">{formatDuration(summary.durationMs)}</Table.Td>
                    <Table.Td ta="right">{formatTokens(summary.tokens)}</Table.Td>
                    <Table.Td ta="right">{formatCost(summary.cost)}</Table.Td>
                    <Table.Td>{summary.model ?? '—'}</Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {pager}
      {adding && (
        <Suspense fallback={null}>
          <AddToTestsetModal
            spans={[...selected.values()]}
            opened
            onClose={() => setAdding(false)}
            onAdded={() => setSelected(new Map())}
          />
        </Suspense>
      )}
    </>
  );
}
