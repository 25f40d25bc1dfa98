// The results table's rows: one per scenario, its application output and each step's scores (repeat 0
// shown; repeats are averaged in the metrics).

import { APPLICATION_STEP, HUMAN_STEP, type Result, type Scenario } from './model';

export interface ResultRow {
  scenario: Scenario;
  output: unknown;
  traceId: string | null;
  latencyMs: number | null;
  applicationError: string | null;
  /** step key -> that step's outputs (or its error) */
  scores: Record<string, { outputs?: unknown; error?: string; traceId?: string | null }>;
  human: { outputs: Record<string, unknown>; note: string | null } | null;
}

export function resultRows(scenarios: Scenario[], results: Result[]): { rows: ResultRow[]; steps: string[] } {
  const byScenario = new Map<string, Result[]>();
  for (const result of results) {
    if ((result.repeat_idx ?? 0) !== 0) continue;
    const list = byScenario.get(result.scenario_id) ?? [];
    list.push(result);
    byScenario.set(result.scenario_id, list);
  }
  const steps = new Set<string>();
  const rows = scenarios.map((scenario) => {
    const row: ResultRow = {
      scenario,
      output: undefined,
      traceId: null,
      latencyMs: null,
      applicationError: null,
      scores: {},
      human: null,
    };
    for (const result of byScenario.get(scenario.id) ?? []) {
      const error = result.error ? String((result.error as { message?: unknown }).message ?? JSON.stringify(result.error)) : undefined;
      if (result.step_key === APPLICATION_STEP) {
        const outputs = (result.outputs ?? {}) as { outputs?: unknown; latency_ms?: number };
        row.output = outputs.outputs;
        row.latencyMs = outputs.latency_ms ?? null;
        row.traceId = result.trace_id ?? null;
        row.applicationError = error ?? null;
      } else if (result.step_key === HUMAN_STEP || result.step_key.startsWith(`${HUMAN_STEP}.`)) {
        row.human = {
          outputs: (result.outputs ?? {}) as Record<string, unknown>,
          note: ((result.meta ?? {}) as { note?: string }).note ?? null,
        };
      } else {
        steps.add(result.step_key);
        row.scores[result.step_key] = { outputs: result.outputs, error, traceId: result.trace_id };
      }
    }
    return row;
  });
  return { rows, steps: [...steps].sort() };
}
