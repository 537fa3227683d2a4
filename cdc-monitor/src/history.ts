/**
 * Bounded in-memory history of the dashboard's time series, and its downsampling for drawing. Pure: no clock, no
 * I/O; the caller appends one sample per snapshot and asks for a view to draw.
 */

/** One sample: its time (ms since the epoch) and a value per series key (`null`: not known at that time). */
export interface HistoryPoint {
  t: number;
  v: Readonly<Record<string, number | null>>;
  /** How many samples this point stands for (merged by downsampling); 1 when absent. */
  n?: number;
}

/** How much history is kept. */
export interface HistoryLimits {
  /** Points older than this (before the newest point) are dropped. */
  maxAgeMs: number;
  /** More points than this: the history is downsampled to half as many, evenly over its time span. */
  maxPoints: number;
}

/** A day at most, and few enough points that a day of samples takes a few MB. */
export const DEFAULT_HISTORY_LIMITS: HistoryLimits = { maxAgeMs: 24 * 60 * 60 * 1000, maxPoints: 2048 };

/** Series drawn from a history: one time axis (seconds, as uPlot wants it) and one value array per key. */
export interface SeriesView {
  t: number[];
  series: Record<string, Array<number | null>>;
}

const weightOf = (p: HistoryPoint) => p.n ?? 1;

/** Mean of the known values, each weighted; `null` when none is known. */
function weightedMean(values: ReadonlyArray<[number | null | undefined, number]>): number | null {
  let sum = 0;
  let n = 0;
  for (const [v, w] of values) {
    if (v === null || v === undefined || !Number.isFinite(v)) continue;
    sum += v * w;
    n += w;
  }
  return n === 0 ? null : sum / n;
}

/** Merges points into one standing for all their samples: the mean time and, per key, the mean of the known values. */
export function mergePoints(points: readonly HistoryPoint[]): HistoryPoint {
  const keys = new Set(points.flatMap((p) => Object.keys(p.v)));
  const v: Record<string, number | null> = {};
  for (const k of keys) v[k] = weightedMean(points.map((p) => [p.v[k], weightOf(p)]));
  const n = points.reduce((sum, p) => sum + weightOf(p), 0);
  return { t: Math.round(weightedMean(points.map((p) => [p.t, weightOf(p)])) ?? 0), v, n };
}

/**
 * Pure: at most `buckets` points: the span from the first to the last point cut into equal buckets, each bucket
 * its points merged ({@link mergePoints}); empty buckets are left out. Fewer points than buckets: as they are.
 */
export function bucketize(history: readonly HistoryPoint[], buckets: number): HistoryPoint[] {
  if (history.length <= buckets || buckets <= 0) return [...history];
  const from = history[0]!.t;
  const span = history[history.length - 1]!.t - from;
  const groups = new Map<number, HistoryPoint[]>();
  for (const p of history) {
    const b = span === 0 ? 0 : Math.min(buckets - 1, Math.floor(((p.t - from) / span) * buckets));
    const g = groups.get(b);
    if (g) g.push(p);
    else groups.set(b, [p]);
  }
  return [...groups.keys()].sort((a, b) => a - b).map((b) => mergePoints(groups.get(b)!));
}

/**
 * Pure: `history` with `point` appended (points stay in time order; one older than the newest is dropped), then
 * trimmed to the limits: points older than `maxAgeMs` go, and past `maxPoints` the whole history is downsampled
 * to `maxPoints / 2` points evenly over its span (so a day stays a day, at a coarser step).
 */
export function appendPoint(
  history: readonly HistoryPoint[],
  point: HistoryPoint,
  limits: HistoryLimits = DEFAULT_HISTORY_LIMITS,
): HistoryPoint[] {
  const last = history[history.length - 1];
  if (last && point.t < last.t) return [...history];
  const cutoff = point.t - limits.maxAgeMs;
  const out = [...history.filter((p) => p.t >= cutoff), point];
  return out.length > limits.maxPoints ? bucketize(out, Math.floor(limits.maxPoints / 2)) : out;
}

/**
 * Pure: the history as series for drawing, at most `buckets` points ({@link bucketize}); times in seconds. Every
 * key of any point gets an array (`null` where it was not known).
 */
export function downsample(history: readonly HistoryPoint[], buckets: number): SeriesView {
  const keys = [...new Set(history.flatMap((p) => Object.keys(p.v)))].sort();
  const points = bucketize(history, buckets);
  const series: Record<string, Array<number | null>> = {};
  for (const k of keys) series[k] = points.map((p) => p.v[k] ?? null);
  return { t: points.map((p) => p.t / 1000), series };
}
