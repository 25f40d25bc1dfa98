import {
  ActionIcon,
  Alert,
  Anchor,
  Badge,
  Breadcrumbs,
  Button,
  Code,
  Grid,
  Group,
  Paper,
  ScrollArea,
  SimpleGrid,
  Stack,
  Tabs,
  Text,
  Title,
  Tree,
  getTreeExpandedState,
  useTree,
} from '@mantine/core';
import { IconAlertTriangle, IconChevronDown, IconChevronRight } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { CodeEditor, EmptyState, ErrorAlert, Loading, PageHeader } from '../../components';
import { AddToTestsetModal } from './AddToTestsetModal';
import {
  buildTree,
  flatten,
  formatCost,
  formatDuration,
  formatTokens,
  summarize,
  type SpanNode,
  type TreeItem,
  type TraceView,
} from './spans';

function json(value: unknown): string {
  return value === undefined ? '' : JSON.stringify(value, null, 2);
}

function JsonPanel({ value, label }: { value: unknown; label: string }) {
  if (value === undefined || value === null)
    return (
      <Text size="sm" c="dimmed" py="sm">
        No {label.toLowerCase()} recorded.
      </Text>
    );
  return <CodeEditor value={json(value)} language="json" readOnly label={label} minHeight="80px" />;
}

function Metric({ label, value }: { label: string; value: string }) {
  return (
    <Stack gap={0}>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm" fw={500}>
        {value}
      </Text>
    </Stack>
  );
}

/** The chosen span: status (an error stands out, with its message), metrics, then inputs, outputs, attributes. */
function SpanPanel({ span }: { span: SpanNode }) {
  const own = summarize(span, 'incremental');
  const total = summarize(span, 'cumulative');
  const [adding, setAdding] = useState(false);
  const { ag: _ag, ...otherAttributes } = span.attributes ?? {};
  return (
    <Paper withBorder p="md" radius="md" data-testid="span-details">
      <Group justify="space-between" mb="sm" wrap="nowrap">
        <Group gap="xs">
          <Title order={4}>{span.span_name}</Title>
          <Badge variant="light" color="gray">
            {span.span_type}
          </Badge>
          <Badge variant="light" color={own.isError ? 'red' : 'green'}>
            {own.isError ? 'error' : 'ok'}
          </Badge>
        </Group>
        <Button size="xs" variant="light" onClick={() => setAdding(true)}>
          Add span to test set
        </Button>
      </Group>
      {own.isError && (
        <Alert color="red" icon={<IconAlertTriangle size={16} />} title="This span failed" mb="sm">
          {span.status_message || 'No error message was recorded.'}
        </Alert>
      )}
      <SimpleGrid cols={{ base: 2, sm: 4 }} mb="sm">
        <Metric label="Latency" value={formatDuration(own.durationMs)} />
        <Metric label="Tokens (own / with children)" value={`${formatTokens(own.tokens)} / ${formatTokens(total.tokens)}`} />
        <Metric label="Cost (own / with children)" value={`${formatCost(own.cost)} / ${formatCost(total.cost)}`} />
        <Metric label="Model" value={own.model ?? '—'} />
      </SimpleGrid>
      <Text size="xs" c="dimmed" mb="sm">
        Span <Code>{span.span_id}</Code> · started {new Date(span.start_time).toLocaleString()} · {span.span_kind}
      </Text>
      <Tabs defaultValue="inputs" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="inputs">Inputs</Tabs.Tab>
          <Tabs.Tab value="outputs">Outputs</Tabs.Tab>
          <Tabs.Tab value="attributes">Attributes</Tabs.Tab>
          <Tabs.Tab value="normalized">Lamina fields (ag)</Tabs.Tab>
          {(span.events?.length ?? 0) > 0 && <Tabs.Tab value="events">Events ({span.events?.length})</Tabs.Tab>}
        </Tabs.List>
        <Tabs.Panel value="inputs" pt="xs">
          <JsonPanel value={own.inputs} label="Inputs" />
        </Tabs.Panel>
        <Tabs.Panel value="outputs" pt="xs">
          <JsonPanel value={own.outputs} label="Outputs" />
        </Tabs.Panel>
        <Tabs.Panel value="attributes" pt="xs">
          <JsonPanel value={otherAttributes} label="Attributes" />
        </Tabs.Panel>
        <Tabs.Panel value="normalized" pt="xs">
          <JsonPanel value={_ag} label="Lamina fields" />
        </Tabs.Panel>
        <Tabs.Panel value="events" pt="xs">
          <JsonPanel value={span.events} label="Events" />
        </Tabs.Panel>
      </Tabs>
      <AddToTestsetModal
        spans={[{ trace_id: span.trace_id, span_id: span.span_id }]}
        opened={adding}
        onClose={() => setAdding(false)}
      />
    </Paper>
  );
}

function SpanTree({ items, selectedId, onSelect }: { items: TreeItem[]; selectedId: string; onSelect: (id: string) => void }) {
  const tree = useTree({ initialExpandedState: getTreeExpandedState(items, '*') });
  return (
    <Tree
      data={items}
      tree={tree}
      levelOffset={18}
      aria-label="Span tree"
      renderNode={({ node, expanded, hasChildren, elementProps }) => {
        const item = node as unknown as TreeItem;
        const summary = summarize(item.span, 'cumulative');
        const chosen = item.value === selectedId;
        return (
          <Group
            {...elementProps}
            onClick={() => onSelect(item.value)}
            gap={4}
            wrap="nowrap"
            py={3}
            px={4}
            data-testid="span-node"
            data-error={item.span.status_code === 'STATUS_CODE_ERROR' || undefined}
            style={{
              ...elementProps.style,
              borderRadius: 4,
              background: chosen ? 'var(--mantine-primary-color-light)' : undefined,
            }}
          >
            {hasChildren ? (
              <ActionIcon
                size="xs"
                variant="subtle"
                color="gray"
                aria-label={expanded ? `Collapse ${item.label}` : `Expand ${item.label}`}
                onClick={(event) => {
                  event.stopPropagation();
                  tree.toggleExpanded(item.value);
                }}
              >
                {expanded ? <IconChevronDown size={14} /> : <IconChevronRight size={14} />}
              </ActionIcon>
            ) : (
              <span style={{ width: 22, flex: 'none' }} />
            )}
            <Text size="sm" c={item.hasError ? 'red' : undefined} fw={chosen ? 600 : 400} truncate>
              {item.label}
            </Text>
            {item.span.status_code === 'STATUS_CODE_ERROR' && <IconAlertTriangle size={14} color="var(--mantine-color-red-6)" />}
            <Text size="xs" c="dimmed" ml="auto" style={{ whiteSpace: 'nowrap' }}>
              {formatDuration(summary.durationMs)}
            </Text>
          </Group>
        );
      }}
    />
  );
}

/** /traces/<trace id>: the trace's span tree beside the chosen span's details (`?span=` in the URL). */
export default function TraceDetail() {
  const { traceId = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const query = useQuery({
    queryKey: ['trace', traceId],
    queryFn: () => unwrap(api.GET('/api/traces/{trace_id}', { params: { path: { trace_id: traceId } } })),
  });
  const items = useMemo(() => (query.data?.trace ? buildTree(query.data.trace as TraceView) : []), [query.data]);
  const all = useMemo(() => flatten(items), [items]);
  const header = (
    <>
      <Breadcrumbs mb="xs">
        <Anchor component={Link} to="/traces" size="sm">
          Traces
        </Anchor>
        <Text size="sm">{traceId}</Text>
      </Breadcrumbs>
      <PageHeader title="Trace" description={<Code>{traceId}</Code>} />
    </>
  );
  if (query.isPending)
    return (
      <>
        {header}
        <Loading label="Loading trace" />
      </>
    );
  if (query.error)
    return (
      <>
        {header}
        <ErrorAlert error={query.error} title="Could not load the trace" onRetry={() => query.refetch()} />
      </>
    );
  if (all.length === 0)
    return (
      <>
        {header}
        <EmptyState title="This trace has no spans" />
      </>
    );
  const chosen = all.find((item) => item.value === params.get('span')) ?? all[0];
  const root = summarize(all[0].span, 'cumulative');
  const errors = all.filter((item) => item.span.status_code === 'STATUS_CODE_ERROR').length;
  return (
    <>
      {header}
      <Group gap="lg" mb="md">
        <Text size="sm">
          {all.length} spans · {formatDuration(root.durationMs)} · {formatTokens(root.tokens)} tokens · {formatCost(root.cost)}
        </Text>
        {errors > 0 && (
          <Badge color="red" variant="filled">
            {errors} {errors === 1 ? 'error' : 'errors'}
          </Badge>
        )}
      </Group>
      <Grid>
        <Grid.Col span={{ base: 12, md: 4 }}>
          <Paper withBorder p="xs" radius="md">
            <ScrollArea.Autosize mah="70vh">
              <SpanTree
                items={items}
                selectedId={chosen.value}
                onSelect={(id) => setParams({ span: id }, { replace: true })}
              />
            </ScrollArea.Autosize>
          </Paper>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 8 }}>
          <SpanPanel key={chosen.value} span={chosen.span} />
        </Grid.Col>
      </Grid>
    </>
  );
}
