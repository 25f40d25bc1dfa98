// Spans as the API returns them (Agenta's shape: the normalised fields under attributes.ag) and the trace tree
// (children keyed by name, a list where siblings share one) turned into what the page shows.

import type { components } from '../../api/schema';

export type SpanView = components['schemas']['SpanView'];
export type SpanNode = components['schemas']['SpanNode'];
export type TraceView = components['schemas']['TraceView'];
type KeyedSpans = NonNullable<SpanNode['spans']>;

export interface SpanSummary {
  durationMs: number | null;
  /** Tokens and cost of the span itself (`incremental`), or with its descendants in a tree (`cumulative`). */
  tokens: number | null;
  cost: number | null;
  model: string | null;
  inputs: unknown;
  outputs: unknown;
  isError: boolean;
}

type Json = Record<string, unknown>;

function child(value: unknown, key: string): unknown {
  return value && typeof value === 'object' ? (value as Json)[key] : undefined;
}

function numberAt(value: unknown, ...path: string[]): number | null {
  const found = path.reduce(child, value);
  return typeof found === 'number' ? found : null;
}

/** What a row or a span panel shows, read from attributes.ag (durations, tokens, cost, model, data). */
export function summarize(span: SpanView, scope: 'incremental' | 'cumulative' = 'incremental'): SpanSummary {
  const ag = child(span.attributes, 'ag');
  const metrics = child(ag, 'metrics');
  const model = child(child(child(ag, 'meta'), 'request'), 'model');
  const data = child(ag, 'data');
  return {
    durationMs: numberAt(metrics, 'duration', 'cumulative'),
    tokens: numberAt(metrics, 'tokens', scope, 'total') ?? numberAt(metrics, 'tokens', 'incremental', 'total'),
    cost: numberAt(metrics, 'costs', scope, 'total') ?? numberAt(metrics, 'costs', 'incremental', 'total'),
    model: typeof model === 'string' ? model : null,
    inputs: child(data, 'inputs'),
    outputs: child(data, 'outputs'),
    isError: span.status_code === 'STATUS_CODE_ERROR',
  };
}

export interface TreeItem {
  /** The span id: Mantine's Tree keys nodes by `value`. */
  value: string;
  label: string;
  span: SpanNode;
  depth: number;
  /** This span or a descendant failed: the path to an error stays visible when collapsed. */
  hasError: boolean;
  children: TreeItem[];
}

function nodesOf(keyed: KeyedSpans | null | undefined): SpanNode[] {
  if (!keyed) return [];
  return Object.values(keyed)
    .flatMap((entry) => (Array.isArray(entry) ? entry : [entry]))
    .sort((a, b) => a.start_time.localeCompare(b.start_time) || a.span_id.localeCompare(b.span_id));
}

/** The trace's spans as a tree in start order (siblings sharing a name each get their own node). */
export function buildTree(trace: TraceView): TreeItem[] {
  const visit = (span: SpanNode, depth: number): TreeItem => {
    const children = nodesOf(span.spans).map((kid) => visit(kid, depth + 1));
    return {
      value: span.span_id,
      label: span.span_name,
      span,
      depth,
      hasError: span.status_code === 'STATUS_CODE_ERROR' || children.some((kid) => kid.hasError),
      children,
    };
  };
  return nodesOf(trace.spans).map((root) => visit(root, 0));
}

/** Every node of the tree, depth first: to find a span by id and to count them. */
export function flatten(items: TreeItem[]): TreeItem[] {
  return items.flatMap((item) => [item, ...flatten(item.children)]);
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return '—';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export function formatCost(cost: number | null): string {
  if (cost === null) return '—';
  return cost === 0 ? '$0' : cost < 0.01 ? `$${cost.toPrecision(2)}` : `$${cost.toFixed(4)}`;
}

// One formatter each, made once: toLocaleString builds a new Intl formatter per call, per row.
const TOKENS = new Intl.NumberFormat('en-US');
const TIME = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'medium' });

export function formatTokens(tokens: number | null): string {
  return tokens === null ? '—' : TOKENS.format(tokens);
}

export function formatTime(iso: string): string {
  return TIME.format(new Date(iso));
}
