import type { ServerResponse } from 'node:http';
import type { Logger } from '@warmhouse/shared';
import type { CdcSnapshot, Monitor } from './monitor';
import { chartsOf, sampleOf, type ChartsView, type RouteInputs } from './charts';
import { appendPoint, downsample, type HistoryLimits, type HistoryPoint } from './history';
import type { ProxyAdmin, ProxyAuditEntry, ProxyFleet, ProxyRead } from './proxy-admin';
import { mergeRouteStats, statsNote, type RouteRow } from './route-stats';

/** The routes table: the proxy's routes with their numbers, the upstreams a route can go to, the stats note. */
export type RoutesView =
  | {
      ok: true;
      version: number | null;
      rows: RouteRow[];
      upstreams: string[];
      stats: ReturnType<typeof statsNote>;
    }
  | { ok: false; error: string };

/** Everything the dashboard shows, in one document (`GET /api/dashboard/snapshot` and each server-sent event). */
export interface DashboardSnapshot {
  at: string;
  routes: RoutesView;
  /** the proxy's audit log, newest first */
  audit: ProxyRead<ProxyAuditEntry[]>;
  /** the proxy processes and the table version each serves */
  fleet: ProxyRead<ProxyFleet>;
  cdc: CdcSnapshot;
  /** the time series (downsampled history), their markers and the migration progress */
  charts: ChartsView;
}

/** What the proxy said about its routes, unformatted: the routes view and the charts are made from it. */
interface RouteReads {
  view: RoutesView;
  inputs: RouteInputs | null;
}

async function readRoutes(proxy: ProxyAdmin): Promise<RouteReads> {
  const [routes, upstreams, stats, circuits] = await Promise.all([
    proxy.routes(),
    proxy.upstreams(),
    proxy.stats(),
    proxy.shadowCircuits(),
  ]);
  if (!routes.ok) return { view: { ok: false, error: routes.error }, inputs: null };
  const list = routes.value.routes;
  return {
    view: {
      ok: true,
      version: routes.value.version,
      rows: mergeRouteStats(list, stats, circuits),
      upstreams: upstreams.ok ? upstreams.value.names : [...new Set(list.map((r) => r.target))],
      stats: statsNote(stats),
    },
    inputs: { routes: list, stats, monolith: (upstreams.ok && upstreams.value.defaultTarget) || 'monolith' },
  };
}

/** Reads routes, upstreams and stats from the proxy and joins them; never throws. */
export async function readRoutesView(proxy: ProxyAdmin): Promise<RoutesView> {
  return (await readRoutes(proxy)).view;
}

/**
 * The dashboard's time series: each snapshot built adds one point (figures of that moment) to a bounded history,
 * which the snapshot carries downsampled to at most `buckets` points.
 */
export function createChartHistory(options: { limits?: HistoryLimits; buckets?: number } = {}) {
  let points: HistoryPoint[] = [];
  return {
    record(at: number, routes: RouteInputs | null, cdc: CdcSnapshot): void {
      points = appendPoint(points, { t: at, v: sampleOf(routes, cdc) }, options.limits);
    },
    view(routes: RouteInputs | null, cdc: CdcSnapshot, audit: readonly ProxyAuditEntry[]): ChartsView {
      return chartsOf({ data: downsample(points, options.buckets ?? 400), routes, cdc, audit });
    },
    size: () => points.length,
  };
}

/** The history created by {@link createChartHistory}. */
export type ChartHistory = ReturnType<typeof createChartHistory>;

/** Reads every part of the dashboard in parallel and records its figures in `history`. */
export async function buildDashboardSnapshot(options: {
  monitor: Monitor;
  proxy: ProxyAdmin;
  history: ChartHistory;
  /** audit entries in the table (the charts' markers read up to `markerLimit`) */
  auditLimit?: number;
  markerLimit?: number;
}): Promise<DashboardSnapshot> {
  const { proxy, history } = options;
  const [routes, audit, fleet, cdc] = await Promise.all([
    readRoutes(proxy),
    proxy.audit(Math.max(options.auditLimit ?? 20, options.markerLimit ?? 500)),
    proxy.fleet(),
    options.monitor.snapshot(),
  ]);
  history.record(Date.parse(cdc.at), routes.inputs, cdc);
  const entries = audit.ok ? audit.value : [];
  return {
    at: cdc.at,
    routes: routes.view,
    audit: audit.ok ? { ok: true, value: entries.slice(-(options.auditLimit ?? 20)).reverse() } : audit,
    fleet,
    cdc,
    charts: history.view(routes.inputs, cdc, entries),
  };
}

/**
 * Server-sent events of the dashboard snapshot: one snapshot is built per period (only while someone listens) and
 * sent to every listener, and again right after a change (`poke`).
 */
export function createSnapshotFeed(options: {
  build: () => Promise<DashboardSnapshot>;
  intervalMs: number;
  logger: Logger;
}) {
  const clients = new Set<ServerResponse>();
  let timer: NodeJS.Timeout | undefined;
  let building: Promise<void> | undefined;

  const send = (res: ServerResponse, s: DashboardSnapshot) =>
    res.write(`event: snapshot\ndata: ${JSON.stringify(s)}\n\n`);
  const broadcast = (): Promise<void> => {
    building ??= options
      .build()
      .then((s) => {
        for (const res of clients) send(res, s);
      })
      .catch((err: unknown) => options.logger.warn({ event: 'dashboard_snapshot_failed', err }, 'snapshot failed'))
      .finally(() => (building = undefined));
    return building;
  };
  const stopTimer = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };

  return {
    /** Takes over `res` as an event stream until the client goes away. */
    subscribe(res: ServerResponse): void {
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      // a reconnecting EventSource waits this long; the page falls back to polling if it cannot reconnect
      res.write(`retry: ${Math.max(1000, options.intervalMs)}\n\n`);
      clients.add(res);
      res.on('close', () => {
        clients.delete(res);
        if (clients.size === 0) stopTimer();
      });
      void options
        .build()
        .then((s) => clients.has(res) && send(res, s))
        .catch((err: unknown) => options.logger.warn({ event: 'dashboard_snapshot_failed', err }, 'snapshot failed'));
      timer ??= setInterval(() => void broadcast(), options.intervalMs);
    },
    /** Pushes a fresh snapshot now (after a change). */
    poke: (): Promise<void> => (clients.size > 0 ? broadcast() : Promise.resolve()),
    listeners: (): number => clients.size,
    /** Ends every stream (so the server can close). */
    close(): void {
      stopTimer();
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}

/** The feed created by {@link createSnapshotFeed}. */
export type SnapshotFeed = ReturnType<typeof createSnapshotFeed>;
