import type { components } from '../../api/schema';

type Bucket = components['schemas']['AnalyticsBucket'];

export interface ChartPoint {
  time: string;
  spans: number;
  errors: number;
  cost: number;
  /** Null in an empty bucket: no latency, rather than a latency of zero. */
  p50: number | null;
  p95: number | null;
}

/** One point per bucket over the whole window: the API answers only buckets that have spans, and a chart
 * that skips empty hours draws a line across them. */
export function chartPoints(buckets: Bucket[], oldest: Date, newest: Date, intervalMinutes: number): ChartPoint[] {
  const width = intervalMinutes * 60_000;
  const byStart = new Map(buckets.map((bucket) => [Math.floor(Date.parse(bucket.timestamp) / width), bucket]));
  const label = (ms: number) =>
    new Date(ms).toLocaleString(undefined, intervalMinutes >= 1440
      ? { month: 'short', day: 'numeric' }
      : { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  const points: ChartPoint[] = [];
  for (let index = Math.floor(oldest.getTime() / width); index * width < newest.getTime(); index++) {
    const bucket = byStart.get(index);
    points.push({
      time: label(index * width),
      spans: bucket?.total.count ?? 0,
      errors: bucket?.errors.count ?? 0,
      cost: bucket?.total.costs ?? 0,
      p50: bucket?.latency.p50 ?? null,
      p95: bucket?.latency.p95 ?? null,
    });
  }
  return points;
}
