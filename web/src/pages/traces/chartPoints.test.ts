import { chartPoints } from './chartPoints';

function bucket(timestamp: string, count: number, errors: number, p50: number) {
  const totals = { count, duration: 0, costs: count * 0.01, tokens: 0 };
  return {
    timestamp,
    interval: 30,
    total: totals,
    errors: { ...totals, count: errors },
    latency: { p50, p95: p50 * 2, p99: p50 * 3 },
  };
}

describe('chart points from analytics buckets', () => {
  it('has one point per bucket of the window, empty buckets at zero volume and without a latency', () => {
    const points = chartPoints(
      [bucket('2026-01-01T00:30:00Z', 4, 1, 100), bucket('2026-01-01T01:30:00Z', 2, 0, 50)],
      new Date('2026-01-01T00:10:00Z'),
      new Date('2026-01-01T02:00:00Z'),
      30,
    );
    // 00:00, 00:30, 01:00, 01:30: the window's first bucket starts before `oldest`, the last ends at `newest`.
    expect(points.map(({ time: _, ...point }) => point)).toEqual([
      { spans: 0, errors: 0, cost: 0, p50: null, p95: null },
      { spans: 4, errors: 1, cost: 0.04, p50: 100, p95: 200 },
      { spans: 0, errors: 0, cost: 0, p50: null, p95: null },
      { spans: 2, errors: 0, cost: 0.02, p50: 50, p95: 100 },
    ]);
  });
});
