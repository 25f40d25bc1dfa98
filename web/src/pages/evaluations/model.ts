// Shapes and small helpers the evaluation pages share: run status, step labels, metric paths.

import type { components } from '../../api/schema';

export type Run = components['schemas']['RunView'];
export type Scenario = components['schemas']['ScenarioView'];
export type Result = components['schemas']['ResultView'];

export const TERMINAL = new Set(['success', 'failure', 'errors', 'cancelled']);
export const POLL_MS = 1000;
export const APPLICATION_STEP = 'application';
export const HUMAN_STEP = 'human';

export const STATUS_COLORS: Record<string, string> = {
  pending: 'gray',
  queued: 'gray',
  running: 'blue',
  success: 'green',
  errors: 'orange',
  failure: 'red',
  cancelled: 'dark',
};

export function window(limit: number) {
  return { limit, order: 'ascending' as const };
}

export function isActive(run: Pick<Run, 'status'> | undefined): boolean {
  return !!run && !TERMINAL.has(run.status);
}

/** A step key as a person reads it: the evaluator's name for `evaluator.<revision id>`. */
export function stepLabel(step: string, evaluatorNames: Record<string, string>): string {
  if (step === APPLICATION_STEP) return 'Application';
  if (step === HUMAN_STEP || step.startsWith(`${HUMAN_STEP}.`)) return step === HUMAN_STEP ? 'Human' : `Human ${step.slice(6)}`;
  if (step.startsWith('evaluator.')) {
    const revision = step.slice('evaluator.'.length);
    return evaluatorNames[revision] ?? `Evaluator ${revision.slice(0, 8)}`;
  }
  return step;
}

export interface MetricRow {
  step: string;
  path: string;
  stats: Record<string, unknown>;
  /** The headline: a boolean metric's rate, a numeric one's mean. */
  value: number | null;
  kind: 'rate' | 'mean' | 'none';
}

/** A run's metrics (`{step: {path: stats}}`) as rows, application first. */
export function metricRows(data: Record<string, unknown> | undefined): MetricRow[] {
  const rows: MetricRow[] = [];
  for (const [step, paths] of Object.entries(data ?? {})) {
    if (!paths || typeof paths !== 'object') continue;
    for (const [path, raw] of Object.entries(paths as Record<string, unknown>)) {
      if (!raw || typeof raw !== 'object') continue;
      const stats = raw as Record<string, unknown>;
      const kind = typeof stats.rate === 'number' ? 'rate' : typeof stats.mean === 'number' ? 'mean' : 'none';
      rows.push({ step, path, stats, kind, value: kind === 'none' ? null : (stats[kind] as number) });
    }
  }
  return rows.sort((a, b) => Number(b.step === APPLICATION_STEP) - Number(a.step === APPLICATION_STEP));
}

export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(3);
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}
