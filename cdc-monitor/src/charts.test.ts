import type { RouteWindowStats, StatsSnapshot } from '@warmhouse/messaging';
import { chartsOf, markersOf, progressOf, sampleOf, totalsOf, type RouteInputs } from './charts';
import { downsample } from './history';
import type { CdcSnapshot } from './monitor';
import type { ProxyAuditEntry, ProxyRoute, StatsResult } from './proxy-admin';
import { quietCdcSnapshot } from './testing/cdc-snapshot';

const target = (requests: number, errors = 0, p99Ms: number | null = requests ? 10 : null) => ({
  requests,
  errors,
  errorRate: requests ? errors / requests : 0,
  p50Ms: p99Ms,
  p99Ms,
});
const routeStats = (monolith: number, service: number, compared = 0, different = 0): RouteWindowStats => ({
  monolith: target(monolith),
  service: target(service, service > 0 ? 1 : 0, service ? 40 : null),
  shadow: { compared, equal: compared - different, different, serviceErrors: 0, skipped: 0, equalRate: null },
  fallbacks: 0,
});
const ok = (routes: StatsSnapshot['routes'], windowSeconds = 10): StatsResult => ({
  state: 'ok',
  stats: { windowSeconds, routes },
});
const ROUTES: ProxyRoute[] = [
  { id: 'a', path: '/a', target: 'monolith' },
  { id: 'b', path: '/b', target: 'device-management', mode: 'canary', weight: 20 },
  { id: 'c', path: '/c', target: 'device-management' },
  { id: 'd', path: '/d', target: 'telemetry', mode: 'shadow' },
  { id: 'e', path: '/e', target: 'telemetry', mode: 'unavailable' },
];
const inputs = (stats: StatsResult, routes = ROUTES): RouteInputs => ({ routes, stats, monolith: 'monolith' });

const cdc = quietCdcSnapshot;

describe('progressOf', () => {
  it.each([
    [
      'forward on a service is migrated; canary and shadow are under way; unavailable is neither',
      inputs(ok({})),
      { migrated: 1, underWay: 2, total: 5, serviceSharePercent: null },
    ],
    [
      'share of requests served by services over every route',
      inputs(ok({ a: routeStats(30, 0), b: routeStats(15, 5), c: routeStats(0, 50) })),
      { migrated: 1, underWay: 2, total: 5, serviceSharePercent: 55 },
    ],
    [
      'stats of a route no longer in the table do not count',
      inputs(ok({ gone: routeStats(0, 100), a: routeStats(10, 0) })),
      { migrated: 1, underWay: 2, total: 5, serviceSharePercent: 0 },
    ],
    [
      'no stats: no share',
      inputs({ state: 'missing' }, ROUTES.slice(0, 1)),
      { migrated: 0, underWay: 0, total: 1, serviceSharePercent: null },
    ],
  ])('%s', (_name, input, expected) => {
    expect(progressOf(input)).toEqual(expected);
  });
});

describe('totalsOf', () => {
  it.each([
    ['no stats', { state: 'error', error: 'down' } as StatsResult, null],
    [
      'requests of every route added once',
      ok({ a: routeStats(3, 0), b: routeStats(4, 6, 2) }),
      { requests: 13, monolith: 7, service: 6, shadowCompared: 2 },
    ],
  ])('%s', (_name, stats, expected) => {
    expect(totalsOf(stats)).toEqual(expected);
  });
});

describe('sampleOf', () => {
  it('per route rates over the window, error rate and diff rate in percent, p99 only with requests', () => {
    const v = sampleOf(inputs(ok({ b: routeStats(20, 10, 4, 1) }), ROUTES.slice(0, 2)), cdc());
    expect(v).toEqual({
      'route:a:rps:monolith': 0,
      'route:a:rps:service': 0,
      'route:a:rps:shadow': 0,
      'route:a:err:monolith': null,
      'route:a:err:service': null,
      'route:a:p99:monolith': null,
      'route:a:p99:service': null,
      'route:a:diff': null,
      'route:b:rps:monolith': 2,
      'route:b:rps:service': 1,
      'route:b:rps:shadow': 0.4,
      'route:b:err:monolith': 0,
      'route:b:err:service': 10,
      'route:b:p99:monolith': 10,
      'route:b:p99:service': 40,
      'route:b:diff': 25,
      'progress:share': 100 / 3,
      'progress:migrated': 0,
    });
  });

  it.each([
    ['no proxy: CDC figures only', null, cdc(), {}],
    [
      'proxy without stats: progress of routes, no share',
      inputs({ state: 'missing' }),
      cdc(),
      { 'progress:share': null, 'progress:migrated': 20 },
    ],
    [
      'CDC: freshness per topic, lag summed per group, retained WAL per slot, probe latency per service',
      null,
      cdc({
        freshness: [{ topic: 't1', table: 'x', lastSourceCommitAt: null, freshnessSeconds: 1.5, overThreshold: false }],
        lag: {
          ok: true,
          value: [
            { group: 'g', topic: 't1', partition: 0, committed: 1, end: 4, lag: 3 },
            { group: 'g', topic: 't1', partition: 1, committed: 1, end: 3, lag: 2 },
          ],
        },
        slots: {
          ok: true,
          value: [
            {
              name: 's',
              present: true,
              active: true,
              walStatus: 'reserved',
              restartLsn: null,
              confirmedFlushLsn: null,
              retainedWalBytes: 4096,
              flushLagBytes: 0,
              alarms: [],
            },
          ],
        },
        probes: {
          topic: 'hb',
          rowId: 1,
          intervalSeconds: 5,
          lastProbeAt: null,
          writeError: null,
          services: [
            {
              service: 'dm',
              url: 'http://x',
              reachable: true,
              error: null,
              lastLatencyMs: 12,
              lastObservedMs: 20,
              lastAppliedProbeAt: null,
              pending: 0,
              oldestPendingSeconds: null,
              overThreshold: false,
              position: null,
            },
          ],
        },
      }),
      { 'fresh:t1': 1.5, 'lag:g': 5, 'wal:s': 4096, 'probe:dm': 12 },
    ],
    [
      'failed checks leave their series out',
      null,
      cdc({ lag: { ok: false, error: 'x' }, slots: { ok: false, error: 'y' } }),
      {},
    ],
  ])('%s', (_name, routes, snapshot, expected) => {
    expect(sampleOf(routes, snapshot)).toEqual(expected);
  });
});

describe('markersOf', () => {
  const entry = (over: Partial<ProxyAuditEntry>): ProxyAuditEntry => ({
    at: '2026-12-05T05:00:10.000Z',
    version: 2,
    actor: 'alice',
    source: 'admin-api',
    reason: 'try it',
    action: 'route.updated',
    routeId: 'a',
    from: 'monolith',
    to: 'device-management',
    ...over,
  });
  it.each([
    [
      'a manual change',
      [entry({})],
      [{ t: Date.parse('2026-12-05T05:00:10.000Z') / 1000, routeId: 'a', kind: 'manual', label: 'try it' }],
    ],
    [
      'a plan step',
      [entry({ actor: 'plan', source: 'plan', reason: 'plan: canary 10 %' })],
      [{ t: Date.parse('2026-12-05T05:00:10.000Z') / 1000, routeId: 'a', kind: 'plan', label: 'plan: canary 10 %' }],
    ],
    [
      'no reason: from → to',
      [entry({ reason: '' })],
      [
        {
          t: Date.parse('2026-12-05T05:00:10.000Z') / 1000,
          routeId: 'a',
          kind: 'manual',
          label: 'monolith → device-management',
        },
      ],
    ],
    [
      'changes of no route, actions on no route and bad times are left out; in time order',
      [
        entry({ at: '2026-12-05T05:00:20.000Z', routeId: 'b' }),
        entry({ routeId: undefined, action: 'default-target.changed' }),
        entry({ action: 'table.refused' }),
        entry({ at: 'not a time' }),
        entry({}),
      ],
      [
        { t: Date.parse('2026-12-05T05:00:10.000Z') / 1000, routeId: 'a', kind: 'manual', label: 'try it' },
        { t: Date.parse('2026-12-05T05:00:20.000Z') / 1000, routeId: 'b', kind: 'manual', label: 'try it' },
      ],
    ],
  ])('%s', (_name, audit, expected) => {
    expect(markersOf(audit)).toEqual(expected);
  });
});

describe('chartsOf: what is drawn and why a chart is empty', () => {
  const emptyOf = (view: ReturnType<typeof chartsOf>) => Object.fromEntries(view.charts.map((c) => [c.id, c.empty]));
  const one = (routes: RouteInputs | null, snapshot: CdcSnapshot) =>
    chartsOf({ data: downsample([{ t: 0, v: sampleOf(routes, snapshot) }], 10), routes, cdc: snapshot, audit: [] });

  it.each([
    [
      'no sample at all',
      chartsOf({ data: downsample([], 10), routes: null, cdc: cdc(), audit: [] }),
      {
        progress: 'no samples yet',
        freshness: 'no samples yet',
        lag: 'no samples yet',
        wal: 'no samples yet',
        probe: 'no samples yet',
      },
    ],
    [
      'no proxy, nothing configured',
      one(null, cdc()),
      {
        progress: 'no proxy figures: the proxy admin API is not reachable or PROXY_ADMIN_URL is not set',
        freshness: 'no CDC topics configured (CDC_TOPICS)',
        lag: 'no consumer groups configured (CONSUMER_GROUPS)',
        wal: 'no replication slot configured or present',
        probe: 'no services configured (CDC_MONITOR_SERVICES)',
      },
    ],
    [
      'a proxy without stats; failed CDC checks',
      one(
        inputs({ state: 'missing' }, ROUTES.slice(0, 1)),
        cdc({ lag: { ok: false, error: 'kafka down' }, slots: { ok: false, error: 'pg down' } }),
      ),
      {
        progress: null,
        'a-rps': 'no proxy figures: this proxy has no GET /api/stats',
        'a-errors': 'no proxy figures: this proxy has no GET /api/stats',
        'a-p99': 'no proxy figures: this proxy has no GET /api/stats',
        freshness: 'no CDC topics configured (CDC_TOPICS)',
        lag: 'lag check failed: kafka down',
        wal: 'slot check failed: pg down',
        probe: 'no services configured (CDC_MONITOR_SERVICES)',
      },
    ],
    [
      'stats without traffic: rates drawn (zero), errors and p99 wait for requests',
      one(inputs(ok({}), ROUTES.slice(0, 1)), cdc()),
      {
        progress: null,
        'a-rps': null,
        'a-errors': 'no requests on this route yet',
        'a-p99': 'no requests on this route yet',
        freshness: 'no CDC topics configured (CDC_TOPICS)',
        lag: 'no consumer groups configured (CONSUMER_GROUPS)',
        wal: 'no replication slot configured or present',
        probe: 'no services configured (CDC_MONITOR_SERVICES)',
      },
    ],
  ])('%s', (_name, view, expected) => {
    expect(emptyOf(view)).toEqual(expected);
  });

  it('CDC charts have one series per topic, group, slot and service seen', () => {
    const view = chartsOf({
      data: downsample([{ t: 0, v: { 'fresh:t1': 1, 'fresh:t2': null, 'lag:g': 0 } }], 10),
      routes: null,
      cdc: cdc(),
      audit: [],
    });
    const chart = (id: string) => view.charts.find((c) => c.id === id)!;
    expect(chart('freshness').series).toEqual([
      { key: 'fresh:t1', label: 't1' },
      { key: 'fresh:t2', label: 't2' },
    ]);
    expect(chart('freshness').empty).toBeNull();
    expect(chart('lag').empty).toBeNull(); // a lag of 0 is data
  });
});
