import { appendPoint, bucketize, downsample, mergePoints, type HistoryLimits, type HistoryPoint } from './history';

const p = (t: number, v: Record<string, number | null>, n?: number): HistoryPoint => (n ? { t, v, n } : { t, v });
/** `n` points one second apart from t = 0, each with `a` = its index. */
const run = (n: number): HistoryPoint[] => Array.from({ length: n }, (_, i) => p(i * 1000, { a: i }));
const fill = (n: number, limits: HistoryLimits) =>
  run(n).reduce<HistoryPoint[]>((h, point) => appendPoint(h, point, limits), []);

describe('mergePoints', () => {
  it.each([
    ['means of the known values', [p(0, { a: 1, b: null }), p(2000, { a: 3, b: 4 })], p(1000, { a: 2, b: 4 }, 2)],
    ['null when no value is known', [p(0, { a: null }), p(1000, {})], p(500, { a: null }, 2)],
    ['a key missing in one point', [p(0, { a: 1 }), p(1000, { b: 2 })], p(500, { a: 1, b: 2 }, 2)],
    ['non-finite values ignored', [p(0, { a: Number.NaN }), p(0, { a: 5 })], p(0, { a: 5 }, 2)],
    ['weighted by the samples a point stands for', [p(0, { a: 0 }, 3), p(4000, { a: 4 })], p(1000, { a: 1 }, 4)],
  ])('%s', (_name, points, expected) => {
    expect(mergePoints(points)).toEqual(expected);
  });
});

describe('appendPoint', () => {
  const limits: HistoryLimits = { maxAgeMs: 60_000, maxPoints: 100 };
  it.each([
    ['appends in order', [p(0, { a: 1 })], p(1000, { a: 2 }), [p(0, { a: 1 }), p(1000, { a: 2 })]],
    ['drops a point older than the newest', [p(5000, { a: 1 })], p(1000, { a: 2 }), [p(5000, { a: 1 })]],
    [
      'drops points past the age limit',
      [p(0, { a: 1 }), p(30_000, { a: 2 })],
      p(61_000, { a: 3 }),
      [p(30_000, { a: 2 }), p(61_000, { a: 3 })],
    ],
    [
      'keeps a point exactly at the age limit',
      [p(1000, { a: 1 })],
      p(61_000, { a: 3 }),
      [p(1000, { a: 1 }), p(61_000, { a: 3 })],
    ],
  ])('%s', (_name, history, point, expected) => {
    expect(appendPoint(history, point, limits)).toEqual(expected);
  });

  it('does not change the history it was given', () => {
    const history = [p(0, { a: 1 })];
    appendPoint(history, p(1000, { a: 2 }), limits);
    expect(history).toEqual([p(0, { a: 1 })]);
  });

  it('downsamples to half the points past maxPoints, over the same span', () => {
    const history = fill(101, { maxAgeMs: Infinity, maxPoints: 100 });
    expect(history).toHaveLength(50);
    expect(history.reduce((sum, x) => sum + (x.n ?? 1), 0)).toBe(101);
    expect(history.every((x) => x.n === 2 || x.n === 3 || x.n === 1)).toBe(true);
    expect(history[0]).toEqual(p(500, { a: 0.5 }, 2));
    expect(history[49]).toEqual(p(99_000, { a: 99 }, 3)); // the last bucket is closed: 98, 99 and 100
  });

  it('stays bounded and in time order over a day of 2 s samples', () => {
    const limits = { maxAgeMs: 24 * 3600_000, maxPoints: 500 };
    let history: HistoryPoint[] = [];
    for (let i = 0; i < 43_200; i++) history = appendPoint(history, p(i * 2000, { a: 1 }), limits);
    expect(history.length).toBeLessThanOrEqual(500);
    // still reaches back to the day's first hour; no sample lost; the first half of the day is half of the samples
    expect(history[0]!.t).toBeLessThan(3600_000);
    const samples = (list: HistoryPoint[]) => list.reduce((sum, x) => sum + (x.n ?? 1), 0);
    expect(samples(history)).toBe(43_200);
    expect(samples(history.filter((x) => x.t < 43_200_000)) / 43_200).toBeCloseTo(0.5, 1);
    expect(history.every((x, i) => i === 0 || x.t > history[i - 1]!.t)).toBe(true);
    expect(history.every((x) => x.v.a === 1)).toBe(true);
  });
});

describe('bucketize', () => {
  it('keeps the samples a point stands for', () => {
    expect(bucketize([p(0, { a: 2 }, 3), p(1000, { a: 6 }), p(9000, { a: 1 })], 2)).toEqual([
      p(250, { a: 3 }, 4),
      p(9000, { a: 1 }, 1),
    ]);
  });
});

describe('downsample', () => {
  it.each([
    ['empty history', [], 10, { t: [], series: {} }],
    [
      'fewer points than buckets: as they are, times in seconds',
      [p(1000, { a: 1 }), p(2000, { b: 2 })],
      10,
      { t: [1, 2], series: { a: [1, null], b: [null, 2] } },
    ],
    [
      'means per bucket',
      [p(0, { a: 1 }), p(1000, { a: 3 }), p(2000, { a: 5 }), p(3000, { a: 7 })],
      2,
      { t: [0.5, 2.5], series: { a: [2, 6] } },
    ],
    [
      'empty buckets left out',
      [p(0, { a: 1 }), p(100, { a: 3 }), p(10_000, { a: 9 })],
      2,
      { t: [0.05, 10], series: { a: [2, 9] } },
    ],
    [
      'all points at one time',
      [p(5000, { a: 1 }), p(5000, { a: 3 }), p(5000, { a: null })],
      2,
      { t: [5], series: { a: [2] } },
    ],
  ])('%s', (_name, history, buckets, expected) => {
    expect(downsample(history, buckets)).toEqual(expected);
  });

  it('draws a day of data with at most `buckets` points per series', () => {
    const view = downsample(run(86_400), 400);
    expect(view.t.length).toBeLessThanOrEqual(400);
    expect(view.series.a).toHaveLength(view.t.length);
    expect(view.t[0]).toBeLessThan(view.t[view.t.length - 1]!);
  });
});
