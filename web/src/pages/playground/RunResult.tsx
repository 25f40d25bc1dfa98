import { Anchor, Badge, Code, Group, Loader, Paper, Stack, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { api, ApiError, unwrap } from '../../api/client';
import { ErrorAlert } from '../../components';
import { rootMetrics, type RunOutcome } from './run';

// Traces are ingested through a queue: ask again each second for a while before giving up on the metrics.
const TRACE_POLL_MS = 1000;
const TRACE_POLL_LIMIT = 30;

function formatOutputs(outputs: unknown): string {
  if (typeof outputs === 'string') return outputs;
  return JSON.stringify(outputs, null, 2);
}

function TraceMetrics({ traceId, latencyMs }: { traceId: string; latencyMs: number }) {
  const trace = useQuery({
    queryKey: ['trace', traceId],
    retry: false,
    queryFn: async () => {
      try {
        const found = await unwrap(api.GET('/api/traces/{trace_id}', { params: { path: { trace_id: traceId } } }));
        return found.trace ? rootMetrics(found.trace) : null;
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }
    },
    refetchInterval: (query) =>
      query.state.data == null && query.state.dataUpdateCount < TRACE_POLL_LIMIT ? TRACE_POLL_MS : false,
  });
  const metrics = trace.data;
  return (
    <Group gap="xs" data-testid="run-metrics">
      <Badge variant="light" color="gray" tt="none">
        latency {Math.round(latencyMs)} ms
      </Badge>
      {metrics ? (
        <>
          <Badge variant="light" tt="none" data-testid="run-tokens">
            {metrics.totalTokens ?? 0} tokens ({metrics.promptTokens ?? 0} in · {metrics.completionTokens ?? 0} out)
          </Badge>
          <Badge variant="light" color="teal" tt="none">
            cost ${(metrics.cost ?? 0).toFixed(6)}
          </Badge>
        </>
      ) : trace.error ? (
        <Text size="xs" c="red">
          metrics unavailable: {trace.error.message}
        </Text>
      ) : (
        <Group gap={4}>
          <Loader size="xs" />
          <Text size="xs" c="dimmed">
            waiting for the trace…
          </Text>
        </Group>
      )}
      <Anchor component={Link} to={`/traces/${traceId}`} size="sm">
        Trace
      </Anchor>
    </Group>
  );
}

/** A run's state: nothing yet, running, its error (the API's message), or its output with metrics. */
export function RunResult({
  pending,
  error,
  outcome,
}: {
  pending: boolean;
  error: unknown;
  outcome: RunOutcome | undefined;
}) {
  if (pending) {
    return (
      <Group gap="xs">
        <Loader size="sm" />
        <Text size="sm">Running…</Text>
      </Group>
    );
  }
  if (error) return <ErrorAlert error={error} title="The run failed" />;
  if (!outcome) {
    return (
      <Text size="sm" c="dimmed">
        Run to see the output (Ctrl+Enter).
      </Text>
    );
  }
  return (
    <Stack gap="xs">
      <Paper withBorder p="sm" data-testid="run-output">
        <Code block style={{ whiteSpace: 'pre-wrap', background: 'transparent', padding: 0 }}>
          {formatOutputs(outcome.outputs)}
        </Code>
      </Paper>
      <TraceMetrics traceId={outcome.traceId} latencyMs={outcome.latencyMs} />
    </Stack>
  );
}
