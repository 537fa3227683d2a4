import { readRoutesView } from './dashboard-feed';
import type { RouteWindowStats } from '@warmhouse/messaging';
import { createProxyAdmin, type ProxyRoute } from './proxy-admin';
import { formatMs, formatRate, mergeRouteStats } from './route-stats';
import { startFakeProxyAdmin } from './testing/fake-proxy-admin';

const TOKEN = 'proxy-admin-token-0123';
const routes = (): ProxyRoute[] => [
  {
    id: 'heating-get',
    methods: ['GET'],
    path: '/api/heating/:id',
    target: 'device-management',
    mode: 'canary',
    weight: 25,
  },
  { id: 'heating-update', methods: ['PUT'], path: '/api/heating/:id', target: 'device-management', mode: 'shadow' },
  { id: 'heating-turn-on', path: '/api/heating/:id/turn-on', target: 'monolith' },
];
const target = (requests: number, errors: number, p99Ms: number | null) => ({
  requests,
  errors,
  errorRate: requests ? errors / requests : 0,
  p50Ms: p99Ms === null ? null : p99Ms / 2,
  p99Ms,
});
const getStats: RouteWindowStats = {
  monolith: target(300, 3, 41.6),
  service: target(100, 0, 7.25),
  shadow: { compared: 0, equal: 0, different: 0, serviceErrors: 0, skipped: 0, equalRate: null },
  fallbacks: 2,
};
const updateStats: RouteWindowStats = {
  monolith: target(40, 0, 1530),
  service: target(0, 0, null),
  shadow: { compared: 40, equal: 38, different: 2, serviceErrors: 1, skipped: 3, equalRate: 0.95 },
  fallbacks: 0,
};

describe('formatting the numbers', () => {
  it.each([
    [0, '0 %'],
    [0.01, '1.0 %'],
    [0.0123, '1.2 %'],
    [0.25, '25 %'],
    [1, '100 %'],
    [null, '–'],
  ])('rate %p → %p', (rate, text) => expect(formatRate(rate)).toBe(text));

  it.each([
    [0.42, '0.4 ms'],
    [41.6, '42 ms'],
    [1530, '1.53 s'],
    [null, '–'],
  ])('latency %p → %p', (ms, text) => expect(formatMs(ms)).toBe(text));
});

describe('mergeRouteStats', () => {
  it('puts each route next to its numbers per target, and computes the shadow diff rate', () => {
    const rows = mergeRouteStats(routes(), {
      state: 'ok',
      stats: { windowSeconds: 60, routes: { 'heating-get': getStats, 'heating-update': updateStats } },
    });
    expect(rows[0]).toEqual({
      id: 'heating-get',
      methods: 'GET',
      path: '/api/heating/:id',
      target: 'device-management',
      mode: 'canary',
      weight: 25,
      monolith: { requests: '300', errorRate: '1.0 %', p99: '42 ms' },
      service: { requests: '100', errorRate: '0 %', p99: '7.3 ms' },
      shadowDiffRate: '–',
      shadowCompared: '0',
      shadowCopies: '', // not in mode shadow
      fallbacks: '2',
    });
    expect(rows[1]).toMatchObject({
      mode: 'shadow',
      weight: null,
      monolith: { p99: '1.53 s' },
      service: { requests: '0', errorRate: '–', p99: '–' },
      shadowDiffRate: '5.0 %',
      shadowCompared: '40',
    });
    // a route the stats do not mention had no traffic in the window: zero, not unknown
    expect(rows[2]).toMatchObject({
      methods: '*',
      mode: 'forward',
      monolith: { requests: '0', errorRate: '–' },
      fallbacks: '0',
    });
  });

  it("says whether a shadow route's copies reach its target, from the target's shadow circuit", () => {
    const stats = { state: 'missing' } as const;
    expect(mergeRouteStats(routes(), stats)[1]!.shadowCopies).toBe('sent');
    expect(mergeRouteStats(routes(), stats, { 'device-management': 'open' })[1]!.shadowCopies).toBe(
      'stopped: target failing',
    );
    expect(mergeRouteStats(routes(), stats, { 'device-management': 'half-open' })[1]!.shadowCopies).toBe('probing');
    expect(mergeRouteStats(routes(), stats, { 'device-management': 'open' })[0]!.shadowCopies).toBe('');
  });

  it('shows n/a everywhere when the proxy has no stats', () => {
    const [row] = mergeRouteStats(routes(), { state: 'missing' });
    expect(row).toMatchObject({
      monolith: { requests: 'n/a', errorRate: 'n/a', p99: 'n/a' },
      service: { requests: 'n/a', errorRate: 'n/a', p99: 'n/a' },
      shadowDiffRate: 'n/a',
      fallbacks: 'n/a',
    });
  });
});

describe('the routes table from a proxy admin API', () => {
  let admin: Awaited<ReturnType<typeof startFakeProxyAdmin>>;
  beforeEach(async () => {
    admin = await startFakeProxyAdmin(TOKEN, routes());
  });
  afterEach(() => admin.close());

  it('says n/a when the proxy answers 404 on /api/stats (not there yet)', async () => {
    const view = await readRoutesView(createProxyAdmin({ url: admin.url, token: TOKEN }));
    expect(view).toMatchObject({
      ok: true,
      version: 1,
      upstreams: ['monolith', 'device-management'],
      stats: { available: false, note: 'n/a: this proxy has no GET /api/stats' },
    });
    if (!view.ok) throw new Error('unreachable');
    expect(view.rows.map((r) => r.monolith.p99)).toEqual(['n/a', 'n/a', 'n/a']);
    expect(admin.seen.find((r) => r.path === '/api/stats')?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('merges the stats once the proxy has them', async () => {
    admin.state.stats = { windowSeconds: 60, routes: { 'heating-update': updateStats } };
    const view = await readRoutesView(createProxyAdmin({ url: `${admin.url}/`, token: TOKEN }));
    if (!view.ok) throw new Error(view.error);
    expect(view.stats).toEqual({ available: true, windowSeconds: 60, note: 'numbers over the last 60 s' });
    expect(view.rows[1]).toMatchObject({ id: 'heating-update', shadowDiffRate: '5.0 %', monolith: { requests: '40' } });
  });

  it('names a stats answer of the wrong shape instead of showing wrong numbers', async () => {
    admin.state.stats = { windowSeconds: 60, routes: { x: { monolith: {} } } } as never;
    const view = await readRoutesView(createProxyAdmin({ url: admin.url, token: TOKEN }));
    if (!view.ok) throw new Error(view.error);
    expect(view.stats.available).toBe(false);
    expect(view.stats.note).toMatch(/^n\/a: unexpected \/api\/stats answer/);
  });

  it('says why there is no table when the proxy refuses the token or is not configured', async () => {
    expect(await readRoutesView(createProxyAdmin({ url: admin.url, token: 'wrong' }))).toEqual({
      ok: false,
      error: 'proxy admin answered 401 to GET /api/routes',
    });
    expect(await readRoutesView(createProxyAdmin({}))).toEqual({ ok: false, error: 'PROXY_ADMIN_URL is not set' });
  });
});
