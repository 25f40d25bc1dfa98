// The list's filters, kept in the URL query (so a filtered list is a link), and the span query they become:
// Agenta's filter tree for POST /api/spans/query and /api/spans/analytics/query.

export const RANGES = {
  '1h': { label: 'Last hour', minutes: 60, bucketMinutes: 2 },
  '24h': { label: 'Last 24 hours', minutes: 24 * 60, bucketMinutes: 30 },
  '7d': { label: 'Last 7 days', minutes: 7 * 24 * 60, bucketMinutes: 180 },
  '30d': { label: 'Last 30 days', minutes: 30 * 24 * 60, bucketMinutes: 720 },
  // No lower bound for the list; charts of "all time" show the last 90 days (the API caps the bucket count).
  all: { label: 'All time', minutes: null, bucketMinutes: 1440 },
} as const;
export type PresetRange = keyof typeof RANGES;
/** A preset, or `custom`: from `from` to `to` (either may be open). */
export type TimeRange = PresetRange | 'custom';
export const CUSTOM_RANGE_LABEL = 'Custom range';
const ALL_TIME_CHART_MINUTES = 90 * 24 * 60;
// A custom range's charts: about this many buckets, whatever its length.
const CUSTOM_CHART_BUCKETS = 96;

export type StatusFilter = 'any' | 'ok' | 'error';
/** `root`: one row per trace (its root span); `all`: every span, children included. */
export type SpanScope = 'root' | 'all';

export interface TraceFilters {
  range: TimeRange;
  /** The custom range's bounds (range `custom` only): start times in [from, to). */
  from: Date | null;
  to: Date | null;
  status: StatusFilter;
  scope: SpanScope;
  name: string;
  model: string;
  costMin: number | null;
  costMax: number | null;
  latencyMinMs: number | null;
  latencyMaxMs: number | null;
}

export const DEFAULT_FILTERS: TraceFilters = {
  range: '7d',
  from: null,
  to: null,
  status: 'any',
  scope: 'root',
  name: '',
  model: '',
  costMin: null,
  costMax: null,
  latencyMinMs: null,
  latencyMaxMs: null,
};

export const ERROR_STATUS = 'STATUS_CODE_ERROR';
export const PAGE_SIZE = 50;

// URL parameter of each numeric filter.
const NUMBER_PARAMS = {
  costMin: 'cost_min',
  costMax: 'cost_max',
  latencyMinMs: 'latency_min',
  latencyMaxMs: 'latency_max',
} as const;

function numberParam(value: string | null): number | null {
  if (value === null || value.trim() === '') return null;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : null;
}

function dateParam(value: string | null): Date | null {
  if (!value) return null;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? null : parsed;
}

/** The filters a URL asks for; anything missing or unreadable is the default, never an error. A `from` or `to`
 * (ISO times) makes the range custom, whatever `range` says. */
export function filtersFromParams(params: URLSearchParams): TraceFilters {
  const range = params.get('range');
  const status = params.get('status');
  const scope = params.get('scope');
  const from = dateParam(params.get('from'));
  const to = dateParam(params.get('to'));
  const filters: TraceFilters = {
    ...DEFAULT_FILTERS,
    range: from || to ? 'custom' : range && range in RANGES ? (range as PresetRange) : DEFAULT_FILTERS.range,
    from,
    to,
    status: status === 'ok' || status === 'error' ? status : 'any',
    scope: scope === 'all' ? 'all' : 'root',
    name: params.get('name') ?? '',
    model: params.get('model') ?? '',
  };
  for (const [key, param] of Object.entries(NUMBER_PARAMS) as [keyof typeof NUMBER_PARAMS, string][]) {
    filters[key] = numberParam(params.get(param));
  }
  return filters;
}

/** The URL query of the filters: only what differs from the defaults, so plain /traces stays plain. */
export function filtersToParams(filters: TraceFilters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.range === 'custom') {
    // Without a bound a custom range is all time, which is a preset.
    if (filters.from) params.set('from', filters.from.toISOString());
    if (filters.to) params.set('to', filters.to.toISOString());
    if (!filters.from && !filters.to) params.set('range', 'all');
  } else if (filters.range !== DEFAULT_FILTERS.range) params.set('range', filters.range);
  if (filters.status !== 'any') params.set('status', filters.status);
  if (filters.scope !== 'root') params.set('scope', filters.scope);
  if (filters.name.trim()) params.set('name', filters.name.trim());
  if (filters.model.trim()) params.set('model', filters.model.trim());
  for (const [key, param] of Object.entries(NUMBER_PARAMS) as [keyof typeof NUMBER_PARAMS, string][]) {
    const value = filters[key];
    if (value !== null) params.set(param, String(value));
  }
  return params;
}

export interface Condition {
  field: string;
  operator: string;
  value: unknown;
}

/** The filter tree of the filters (every condition must hold), or null when nothing is filtered. */
export function filtering(filters: TraceFilters): { operator: 'and'; conditions: Condition[] } | null {
  const conditions: Condition[] = [];
  if (filters.scope === 'root') conditions.push({ field: 'parent_id', operator: 'is', value: null });
  if (filters.status === 'error') conditions.push({ field: 'status_code', operator: 'is', value: ERROR_STATUS });
  if (filters.status === 'ok') conditions.push({ field: 'status_code', operator: 'is_not', value: ERROR_STATUS });
  if (filters.name.trim()) conditions.push({ field: 'span_name', operator: 'contains', value: filters.name.trim() });
  if (filters.model.trim()) conditions.push({ field: 'model', operator: 'contains', value: filters.model.trim() });
  if (filters.costMin !== null) conditions.push({ field: 'cost', operator: 'gte', value: filters.costMin });
  if (filters.costMax !== null) conditions.push({ field: 'cost', operator: 'lte', value: filters.costMax });
  if (filters.latencyMinMs !== null)
    conditions.push({ field: 'duration_ms', operator: 'gte', value: filters.latencyMinMs });
  if (filters.latencyMaxMs !== null)
    conditions.push({ field: 'duration_ms', operator: 'lte', value: filters.latencyMaxMs });
  return conditions.length ? { operator: 'and', conditions } : null;
}

/** The start times the filters admit (ISO): [oldest, newest), either null for no bound. */
export function timeWindow(filters: TraceFilters, now: Date): { oldest: string | null; newest: string | null } {
  if (filters.range === 'custom')
    return { oldest: filters.from?.toISOString() ?? null, newest: filters.to?.toISOString() ?? null };
  const minutes = RANGES[filters.range].minutes;
  return { oldest: minutes === null ? null : new Date(now.getTime() - minutes * 60_000).toISOString(), newest: null };
}

/** How the range reads: a preset's label, or the custom bounds. */
export function rangeLabel(filters: TraceFilters): string {
  if (filters.range !== 'custom') return RANGES[filters.range].label;
  const format = (date: Date | null, open: string) => (date ? date.toLocaleString() : open);
  return `${format(filters.from, 'the beginning')} – ${format(filters.to, 'now')}`;
}

/** The body of POST /api/spans/query for one page: `cursor` is the previous page's `windowing.next`. */
export function spansQueryBody(filters: TraceFilters, now: Date, cursor: string | null) {
  return {
    filtering: filtering(filters),
    windowing: { ...timeWindow(filters, now), limit: PAGE_SIZE, next: cursor, order: 'descending' as const },
    focus: 'span' as const,
  };
}

/** The charts' window and bucket size (minutes): a preset's own, or a custom range's in about 96 buckets. */
export function chartWindow(filters: TraceFilters, now: Date): { oldest: Date; newest: Date; bucketMinutes: number } {
  if (filters.range === 'custom') {
    const newest = filters.to ?? now;
    const oldest = filters.from ?? new Date(newest.getTime() - ALL_TIME_CHART_MINUTES * 60_000);
    const minutes = Math.max(1, (newest.getTime() - oldest.getTime()) / 60_000);
    return { oldest, newest, bucketMinutes: Math.max(1, Math.ceil(minutes / CUSTOM_CHART_BUCKETS)) };
  }
  const range = RANGES[filters.range];
  const minutes = range.minutes ?? ALL_TIME_CHART_MINUTES;
  return { oldest: new Date(now.getTime() - minutes * 60_000), newest: now, bucketMinutes: range.bucketMinutes };
}

/** The body of POST /api/spans/analytics/query: the same filters, in buckets sized to the range. */
export function analyticsQueryBody(filters: TraceFilters, now: Date) {
  const { oldest, newest, bucketMinutes } = chartWindow(filters, now);
  return {
    filtering: filtering(filters),
    windowing: {
      oldest: oldest.toISOString(),
      newest: newest.toISOString(),
      interval: bucketMinutes,
      order: 'ascending' as const,
    },
  };
}
