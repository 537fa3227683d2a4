import type { ServerResponse } from 'node:http';
import type { Logger } from '@warmhouse/shared';
import type { CdcSnapshot, Monitor } from './monitor';
import type { ProxyAdmin, ProxyAuditEntry, ProxyRead } from './proxy-admin';
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
  cdc: CdcSnapshot;
}

/** Reads routes, upstreams and stats from the proxy and joins them; never throws. */
export async function readRoutesView(proxy: ProxyAdmin): Promise<RoutesView> {
  const [routes, upstreams, stats, circuits] = await Promise.all([
    proxy.routes(),
    proxy.upstreams(),
    proxy.stats(),
    proxy.shadowCircuits(),
  ]);
  if (!routes.ok) return { ok: false, error: routes.error };
  return {
    ok: true,
    version: routes.value.version,
    rows: mergeRouteStats(routes.value.routes, stats, circuits),
    upstreams: upstreams.ok ? upstreams.value : [...new Set(routes.value.routes.map((r) => r.target))],
    stats: statsNote(stats),
  };
}

/** Reads every part of the dashboard in parallel. */
export async function buildDashboardSnapshot(
  monitor: Monitor,
  proxy: ProxyAdmin,
  auditLimit = 20,
): Promise<DashboardSnapshot> {
  const [routes, audit, cdc] = await Promise.all([readRoutesView(proxy), proxy.audit(auditLimit), monitor.snapshot()]);
  return {
    at: cdc.at,
    routes,
    audit: audit.ok ? { ok: true, value: [...audit.value].reverse() } : audit,
    cdc,
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
