import { RouteSchema } from '../table/schema';
import { monolithOf, roleOf, RouteStats, mergeWindowParts } from './route-stats';

describe('RouteStats', () => {
  let now = 1_000_000;
  const clock = () => now;

  it('counts requests and errors per route and role, with error rate and percentiles', () => {
    const s = new RouteStats(60, 12, clock);
    for (let i = 1; i <= 100; i++) s.request('r', 'monolith', i, false);
    for (let i = 0; i < 10; i++) s.request('r', 'service', 50, i < 3);
    const r = s.route('r');
    expect(r.monolith.requests).toBe(100);
    expect(r.monolith.errors).toBe(0);
    expect(r.monolith.errorRate).toBe(0);
    expect(r.monolith.p50Ms).toBeGreaterThanOrEqual(49.5);
    expect(r.monolith.p50Ms).toBeLessThanOrEqual(50.5);
    expect(r.monolith.p99Ms).toBeGreaterThanOrEqual(98);
    expect(r.monolith.p99Ms).toBeLessThanOrEqual(100);
    expect(r.service).toMatchObject({ requests: 10, errors: 3, errorRate: 0.3 });
  });

  it('reports the exact dashboard shape with zeros and nulls for quiet routes', () => {
    const s = new RouteStats(30, 6, clock);
    expect(s.snapshot(['quiet'])).toEqual({
      windowSeconds: 30,
      routes: {
        quiet: {
          monolith: { requests: 0, errors: 0, errorRate: 0, p50Ms: null, p99Ms: null },
          service: { requests: 0, errors: 0, errorRate: 0, p50Ms: null, p99Ms: null },
          shadow: { compared: 0, equal: 0, different: 0, serviceErrors: 0, skipped: 0, equalRate: null },
          fallbacks: 0,
        },
      },
    });
  });

  it('forgets what slid out of the window and keeps what is inside', () => {
    now = 2_000_000;
    const s = new RouteStats(60, 12, clock);
    s.request('r', 'service', 5, true);
    now += 30_000;
    s.request('r', 'service', 5, false);
    expect(s.route('r').service).toMatchObject({ requests: 2, errors: 1 });
    now += 35_000; // the first request is now 65 s old
    expect(s.route('r').service).toMatchObject({ requests: 1, errors: 0 });
    now += 60_000;
    expect(s.route('r').service.requests).toBe(0);
    expect(s.snapshot().routes).toEqual({});
  });

  it('restricts evidence to buckets that began at or after a step start', () => {
    now = 3_000_000;
    const s = new RouteStats(60, 12, clock); // 5 s buckets
    s.request('r', 'service', 5, true);
    now += 10_000;
    const stepStart = now;
    s.request('r', 'service', 5, false);
    expect(s.route('r', stepStart).service).toMatchObject({ requests: 1, errors: 0 });
    expect(s.route('r').service.requests).toBe(2);
  });

  it('counts shadow outcomes (sampled out, dropped and not compared as skipped) in the window and in totals', () => {
    now = 4_000_000;
    const s = new RouteStats(60, 12, clock);
    for (const r of [
      'compared',
      'equal',
      'compared',
      'different',
      'serviceErrors',
      'skipped',
      'sampledOut',
      'dropped',
      'notCompared',
    ] as const)
      s.shadow('r', r);
    s.fallback('r');
    expect(s.route('r').shadow).toEqual({
      compared: 2,
      equal: 1,
      different: 1,
      serviceErrors: 1,
      skipped: 4,
      equalRate: 0.5,
    });
    expect(s.route('r').fallbacks).toBe(1);
    now += 120_000;
    expect(s.route('r').shadow.compared).toBe(0);
    expect(s.shadowTotals('r')).toEqual({ compared: 2, equal: 1, different: 1, serviceErrors: 1, skipped: 4 });
  });
});

describe('roles', () => {
  const route = (extra: object) => RouteSchema.parse({ id: 'r', path: '/x', target: 'device-management', ...extra });

  it('the monolith is the canary or shadow baseline of the mode in force, else the default target', () => {
    expect(monolithOf(route({}), 'monolith')).toBe('monolith');
    expect(monolithOf(route({ mode: 'canary', weight: 5, canary: { baseline: 'legacy' } }), 'monolith')).toBe('legacy');
    expect(monolithOf(route({ mode: 'shadow', shadow: { baseline: 'legacy' } }), 'monolith')).toBe('legacy');
    expect(monolithOf(route({ mode: 'forward', canary: { baseline: 'legacy' } }), 'monolith')).toBe('monolith');
  });

  it('every other upstream answering a route is the service', () => {
    expect(roleOf(route({}), 'device-management', { defaultTarget: 'monolith' })).toBe('service');
    expect(roleOf(route({}), 'monolith', { defaultTarget: 'monolith' })).toBe('monolith');
    expect(roleOf(undefined, 'monolith', { defaultTarget: 'monolith' })).toBe('monolith');
  });
});

describe('window parts (the fleet evidence)', () => {
  it('merging the parts of several processes gives the figures of one process that saw every request', () => {
    const t = 1_000_000;
    const a = new RouteStats(60, 12, () => t);
    const b = new RouteStats(60, 12, () => t);
    const all = new RouteStats(60, 12, () => t);
    for (let i = 1; i <= 200; i++) {
      const side = i % 3 === 0 ? 'service' : 'monolith';
      const failed = i % 17 === 0;
      (i % 2 === 0 ? a : b).request('r', side, i, failed);
      all.request('r', side, i, failed);
    }
    a.fallback('r');
    all.fallback('r');
    const shadow = { compared: 3, equal: 2, different: 1, serviceErrors: 0, skipped: 4 };
    const merged = mergeWindowParts([a.windowParts('r'), b.windowParts('r')], shadow);
    const expected = all.route('r');
    expect(merged).toEqual({ ...expected, shadow: { ...shadow, equalRate: 2 / 3 } });
    expect(merged.service.requests).toBe(66);
    expect(mergeWindowParts([new RouteStats().windowParts('r')], { ...shadow, compared: 0, equal: 0 })).toMatchObject({
      monolith: { requests: 0, p99Ms: null },
      shadow: { equalRate: null },
    });
  });
});
