import { analyticsQueryBody, DEFAULT_FILTERS, filtersFromParams, filtersToParams, spansQueryBody } from './filters';

describe('trace filters in the URL', () => {
  it('round-trips every filter through the query string, writing only what differs from the defaults', () => {
    const filters = {
      ...DEFAULT_FILTERS,
      range: '24h' as const,
      status: 'error' as const,
      name: 'chat',
      model: 'gpt-4o',
      costMin: 0.001,
      latencyMaxMs: 2500,
    };
    const params = filtersToParams(filters);
    expect(params.toString()).toBe('range=24h&status=error&name=chat&model=gpt-4o&cost_min=0.001&latency_max=2500');
    expect(filtersFromParams(new URLSearchParams(params.toString()))).toEqual(filters);
    expect(filtersToParams(DEFAULT_FILTERS).toString()).toBe('');
  });

  it('reads a hand-edited link leniently: unknown values fall back to the defaults', () => {
    const filters = filtersFromParams(new URLSearchParams('range=forever&status=weird&cost_max=abc&latency_min=10'));
    expect(filters).toEqual({ ...DEFAULT_FILTERS, latencyMinMs: 10 });
  });

  it('becomes the filter tree and window of POST /api/spans/query', () => {
    const now = new Date('2026-01-02T00:00:00Z');
    const body = spansQueryBody(
      { ...DEFAULT_FILTERS, range: '1h', status: 'ok', name: ' retrieve ', costMax: 0.5, latencyMinMs: 100 },
      now,
      'cursor-1',
    );
    expect(body.windowing).toEqual({ oldest: '2026-01-01T23:00:00.000Z', newest: null, limit: 50, next: 'cursor-1', order: 'descending' });
    expect(body.filtering?.conditions).toEqual([
      { field: 'parent_id', operator: 'is', value: null },
      { field: 'status_code', operator: 'is_not', value: 'STATUS_CODE_ERROR' },
      { field: 'span_name', operator: 'contains', value: 'retrieve' },
      { field: 'cost', operator: 'lte', value: 0.5 },
      { field: 'duration_ms', operator: 'gte', value: 100 },
    ]);
    // All spans over all time: no conditions and no lower bound at all.
    const everything = spansQueryBody({ ...DEFAULT_FILTERS, scope: 'all', range: 'all' }, now, null);
    expect(everything.filtering).toBeNull();
    expect(everything.windowing.oldest).toBeNull();
  });

  it('keeps a custom range in the URL as ISO bounds, and queries exactly that window', () => {
    const from = new Date('2026-01-01T08:00:00Z');
    const to = new Date('2026-01-01T20:00:00Z');
    const params = filtersToParams({ ...DEFAULT_FILTERS, range: 'custom', from, to, status: 'error' });
    expect(params.toString()).toBe('from=2026-01-01T08%3A00%3A00.000Z&to=2026-01-01T20%3A00%3A00.000Z&status=error');
    const filters = filtersFromParams(new URLSearchParams(params.toString()));
    expect(filters).toEqual({ ...DEFAULT_FILTERS, range: 'custom', from, to, status: 'error' });
    const now = new Date('2026-02-01T00:00:00Z');
    expect(spansQueryBody(filters, now, null).windowing).toMatchObject({ oldest: from.toISOString(), newest: to.toISOString() });
    // 12 hours in about 96 buckets: 8 minutes each.
    expect(analyticsQueryBody(filters, now).windowing).toMatchObject({ oldest: from.toISOString(), newest: to.toISOString(), interval: 8 });
    // An open end: from a time until now; a bad bound is ignored.
    const open = filtersFromParams(new URLSearchParams('from=2026-01-01T08:00:00Z&to=garbage'));
    expect(open).toMatchObject({ range: 'custom', from, to: null });
    expect(spansQueryBody(open, now, null).windowing.newest).toBeNull();
  });
});
