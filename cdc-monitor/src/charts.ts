import type { StatsSnapshot } from '@warmhouse/messaging';
import type { SeriesView } from './history';
import type { CdcSnapshot } from './monitor';
import type { ProxyAuditEntry, ProxyRoute, StatsResult } from './proxy-admin';

/** Where the routes' figures come from, for a sample. */
export interface RouteInputs {
  routes: readonly ProxyRoute[];
  stats: StatsResult;
  /** the upstream every route starts on (the proxy's default target) */
  monolith: string;
}

/** Migration progress now: routes migrated of all, and the share of requests served by new services. */
export interface Progress {
  /** routes on a service in mode forward: every request goes to the new service */
  migrated: number;
  /** routes on a service in mode canary or shadow: under way */
  underWay: number;
  total: number;
  /** service requests / all requests in the proxy's stats window, in percent; null without requests or stats */
  serviceSharePercent: number | null;
}

/** A change of a route on the time axis: a plan step or a manual change (from the proxy's audit log). */
export interface ChartMarker {
  /** seconds since the epoch (the charts' time unit) */
  t: number;
  routeId: string;
  kind: 'plan' | 'manual';
  label: string;
}

/** One series of a chart: the key of its values in the history and its legend. */
export interface ChartSeries {
  key: string;
  label: string;
}

/** One chart: what it draws, in which unit, and why it is empty when it has nothing to draw. */
export interface ChartSpec {
  id: string;
  title: string;
  unit: 'req/s' | '%' | 'ms' | 's' | 'messages' | 'bytes';
  series: ChartSeries[];
  /** markers of this route (route charts only) */
  routeId?: string;
  /** why nothing is drawn; null when some series has a value */
  empty: string | null;
}

/** The charts part of the dashboard snapshot. */
export interface ChartsView {
  data: SeriesView;
  charts: ChartSpec[];
  markers: ChartMarker[];
  progress: Progress;
  /** requests in the proxy's stats window over every route (the fleet's, as `GET /api/stats` merges them) */
  totals: FleetTotals | null;
}

/** Requests in the proxy's stats window over every route. */
export interface FleetTotals {
  requests: number;
  monolith: number;
  service: number;
  shadowCompared: number;
}

/** Pure: the requests of every route added up (`null` without stats). */
export function totalsOf(stats: StatsResult): FleetTotals | null {
  if (stats.state !== 'ok') return null;
  const t: FleetTotals = { requests: 0, monolith: 0, service: 0, shadowCompared: 0 };
  for (const r of Object.values(stats.stats.routes)) {
    t.monolith += r.monolith.requests;
    t.service += r.service.requests;
    t.shadowCompared += r.shadow.compared;
  }
  t.requests = t.monolith + t.service;
  return t;
}

const ROLES = ['monolith', 'service'] as const;
const percent = (n: number | null) => (n === null ? null : n * 100);

/** Pure: progress of the migration from the route table and the stats window. */
export function progressOf(input: RouteInputs): Progress {
  let migrated = 0;
  let underWay = 0;
  for (const r of input.routes) {
    if (r.target === input.monolith) continue;
    const mode = r.mode ?? 'forward';
    if (mode === 'forward') migrated++;
    else if (mode === 'canary' || mode === 'shadow') underWay++;
  }
  let share: number | null = null;
  if (input.stats.state === 'ok') {
    let service = 0;
    let all = 0;
    for (const r of input.routes) {
      const s = input.stats.stats.routes[r.id];
      if (!s) continue;
      service += s.service.requests;
      all += s.service.requests + s.monolith.requests;
    }
    share = all === 0 ? null : (service * 100) / all;
  }
  return { migrated, underWay, total: input.routes.length, serviceSharePercent: share };
}

function routeSample(id: string, stats: StatsSnapshot, out: Record<string, number | null>): void {
  const s = stats.routes[id];
  const window = stats.windowSeconds > 0 ? stats.windowSeconds : 1;
  for (const role of ROLES) {
    const t = s?.[role];
    out[`route:${id}:rps:${role}`] = (t?.requests ?? 0) / window;
    out[`route:${id}:err:${role}`] = t && t.requests > 0 ? percent(t.errorRate) : null;
    out[`route:${id}:p99:${role}`] = t && t.requests > 0 ? t.p99Ms : null;
  }
  const compared = s?.shadow.compared ?? 0;
  out[`route:${id}:rps:shadow`] = compared / window;
  out[`route:${id}:diff`] = compared > 0 ? percent(s!.shadow.different / compared) : null;
}

/**
 * Pure: one history point's values from a dashboard snapshot: per route the request rates (over the proxy's stats
 * window), error rates, p99 and shadow diff rate; CDC freshness per topic, lag per group (summed over its
 * partitions), retained WAL per slot, probe latency per service; the migration progress.
 */
export function sampleOf(routes: RouteInputs | null, cdc: CdcSnapshot): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  if (routes) {
    if (routes.stats.state === 'ok') for (const r of routes.routes) routeSample(r.id, routes.stats.stats, out);
    const p = progressOf(routes);
    out['progress:share'] = p.serviceSharePercent;
    out['progress:migrated'] = p.total === 0 ? null : (p.migrated / p.total) * 100;
  }
  for (const f of cdc.freshness) out[`fresh:${f.topic}`] = f.freshnessSeconds;
  if (cdc.lag.ok) {
    const byGroup = new Map<string, number>();
    for (const row of cdc.lag.value) byGroup.set(row.group, (byGroup.get(row.group) ?? 0) + row.lag);
    for (const [group, lag] of byGroup) out[`lag:${group}`] = lag;
  }
  if (cdc.slots.ok) for (const s of cdc.slots.value) out[`wal:${s.name}`] = s.retainedWalBytes;
  for (const s of cdc.probes?.services ?? []) out[`probe:${s.service}`] = s.lastLatencyMs;
  return out;
}

/** Pure: route changes of the audit log as markers (plan steps: actor `plan`; everything else: manual). */
export function markersOf(audit: readonly ProxyAuditEntry[]): ChartMarker[] {
  return audit
    .filter((e) => e.routeId !== undefined && e.action.startsWith('route.'))
    .map((e) => ({
      t: Date.parse(e.at) / 1000,
      routeId: e.routeId!,
      kind: e.actor === 'plan' || e.source === 'plan' ? ('plan' as const) : ('manual' as const),
      label: e.reason || `${e.from ?? '–'} → ${e.to ?? '–'}`,
    }))
    .filter((m) => Number.isFinite(m.t))
    .sort((a, b) => a.t - b.t);
}

/** The charts of each route: id suffix, title, unit, and the series (key after `route:<id>:`, label). */
const ROUTE_CHARTS: ReadonlyArray<{
  id: string;
  title: string;
  unit: ChartSpec['unit'];
  series: Array<[string, string]>;
}> = [
  {
    id: 'rps',
    title: 'requests per second',
    unit: 'req/s',
    series: [
      ['rps:monolith', 'monolith'],
      ['rps:service', 'service'],
      ['rps:shadow', 'shadow compared'],
    ],
  },
  {
    id: 'errors',
    title: 'error rate and shadow diff rate',
    unit: '%',
    series: [
      ['err:monolith', 'monolith errors'],
      ['err:service', 'service errors'],
      ['diff', 'shadow diff'],
    ],
  },
  {
    id: 'p99',
    title: 'p99 latency',
    unit: 'ms',
    series: [
      ['p99:monolith', 'monolith'],
      ['p99:service', 'service'],
    ],
  },
];

const hasData = (data: SeriesView, keys: readonly string[]) =>
  keys.some((k) => (data.series[k] ?? []).some((v) => v !== null));

/** Why a chart of figures that come from the proxy is empty. */
function proxyEmpty(routes: RouteInputs | null, none: string): string {
  if (!routes) return 'no proxy figures: the proxy admin API is not reachable or PROXY_ADMIN_URL is not set';
  if (routes.stats.state === 'missing') return 'no proxy figures: this proxy has no GET /api/stats';
  if (routes.stats.state === 'error') return `no proxy figures: ${routes.stats.error}`;
  return none;
}

/** The keys present in the history with a prefix, as series labelled by the rest of the key. */
function seriesWithPrefix(data: SeriesView, prefix: string): ChartSeries[] {
  return Object.keys(data.series)
    .filter((k) => k.startsWith(prefix))
    .map((k) => ({ key: k, label: k.slice(prefix.length) }));
}

/**
 * Pure: the charts to draw from the downsampled history, each with its series and, when nothing can be drawn,
 * the reason (no traffic yet, nothing configured, the proxy has no stats…).
 */
export function chartsOf(options: {
  data: SeriesView;
  routes: RouteInputs | null;
  cdc: CdcSnapshot;
  audit: readonly ProxyAuditEntry[];
}): ChartsView {
  const { data, routes, cdc } = options;
  const charts: ChartSpec[] = [];
  const add = (spec: Omit<ChartSpec, 'empty'>, whyEmpty: string) =>
    charts.push({
      ...spec,
      empty:
        data.t.length === 0
          ? 'no samples yet'
          : hasData(
                data,
                spec.series.map((s) => s.key),
              )
            ? null
            : whyEmpty,
    });

  add(
    {
      id: 'progress',
      title: 'Migration progress',
      unit: '%',
      series: [
        { key: 'progress:share', label: 'requests served by services' },
        { key: 'progress:migrated', label: 'routes migrated' },
      ],
    },
    proxyEmpty(routes, 'no requests through the proxy yet'),
  );
  for (const r of routes?.routes ?? []) {
    const noTraffic = proxyEmpty(routes, 'no requests on this route yet');
    for (const chart of ROUTE_CHARTS) {
      add(
        {
          id: `${r.id}-${chart.id}`,
          title: `${r.id}: ${chart.title}`,
          unit: chart.unit,
          routeId: r.id,
          series: chart.series.map(([m, label]) => ({ key: `route:${r.id}:${m}`, label })),
        },
        noTraffic,
      );
    }
  }
  add(
    { id: 'freshness', title: 'CDC freshness per table', unit: 's', series: seriesWithPrefix(data, 'fresh:') },
    cdc.freshness.length === 0 ? 'no CDC topics configured (CDC_TOPICS)' : 'no change seen on any topic yet',
  );
  add(
    { id: 'lag', title: 'Consumer lag per group', unit: 'messages', series: seriesWithPrefix(data, 'lag:') },
    cdc.lag.ok ? 'no consumer groups configured (CONSUMER_GROUPS)' : `lag check failed: ${cdc.lag.error}`,
  );
  add(
    { id: 'wal', title: 'Replication slot retained WAL', unit: 'bytes', series: seriesWithPrefix(data, 'wal:') },
    cdc.slots.ok ? 'no replication slot configured or present' : `slot check failed: ${cdc.slots.error}`,
  );
  add(
    { id: 'probe', title: 'Heartbeat probe latency per service', unit: 'ms', series: seriesWithPrefix(data, 'probe:') },
    cdc.probes ? 'no probe applied by any service yet' : 'no services configured (CDC_MONITOR_SERVICES)',
  );
  return {
    data,
    charts,
    markers: markersOf(options.audit),
    progress: routes ? progressOf(routes) : { migrated: 0, underWay: 0, total: 0, serviceSharePercent: null },
    totals: routes ? totalsOf(routes.stats) : null,
  };
}
