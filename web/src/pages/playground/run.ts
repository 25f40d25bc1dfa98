// One playground run: the edited prompt with the given inputs, through the completion service with inline
// parameters (nothing needs to be committed first), timed from the browser.
import { api, unwrap } from '../../api/client';
import type { components } from '../../api/schema';
import type { Prompt } from '../../components/registry/prompt';

type InvokeResponse = components['schemas']['InvokeResponse'];
// The workflow interface version of Agenta's SDK that the services speak (lamina/services/schemas.py).
const SERVICE_VERSION = '2025.07.14';

export interface RunOutcome {
  outputs: unknown;
  traceId: string;
  latencyMs: number;
}

export async function runPrompt(prompt: Prompt, inputs: Record<string, string>): Promise<RunOutcome> {
  const started = performance.now();
  const answer = (await unwrap(
    api.POST('/services/completion/v0/invoke', {
      body: { version: SERVICE_VERSION, data: { inputs, parameters: { prompt } } },
    }),
  )) as InvokeResponse; // not streamed: no Accept header asks for events

  return { outputs: answer.data.outputs, traceId: answer.trace_id, latencyMs: performance.now() - started };
}

/** The invocation's root span metrics, from its trace (ingested a moment after the answer). */
export interface RunMetrics {
  promptTokens?: number;
  completionTokens?: number;
  totalTokens?: number;
  cost?: number;
  durationMs?: number;
}

type Metrics = Record<string, Record<string, Record<string, number> | number> | undefined>;

export function rootMetrics(trace: { spans: Record<string, unknown> }): RunMetrics | null {
  const first = Object.values(trace.spans)[0];
  const root = (Array.isArray(first) ? first[0] : first) as { attributes?: { ag?: { metrics?: Metrics } } } | undefined;
  const metrics = root?.attributes?.ag?.metrics;
  if (!metrics) return null;
  const tokens = (metrics.tokens as Record<string, Record<string, number>> | undefined)?.cumulative ?? {};
  const costs = (metrics.costs as Record<string, Record<string, number>> | undefined)?.cumulative ?? {};
  const duration = (metrics.duration as Record<string, number> | undefined)?.cumulative;
  return {
    promptTokens: tokens.prompt,
    completionTokens: tokens.completion,
    totalTokens: tokens.total,
    cost: costs.total,
    durationMs: duration,
  };
}
