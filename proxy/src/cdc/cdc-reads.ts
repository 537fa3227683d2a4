import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from '@warmhouse/shared';
import { LOG_EVENTS } from '../log-events';
import type { ProxyMetrics } from '../metrics';
import { parseRequestTarget } from '../routing/request-target';
import type { CompiledRoute, CompiledTable, CompiledUpstream } from '../table/compile';
import type { CompiledCdc } from '../table/compile/cdc';
import { decideRead, lagMs, tableProgress, type SourceReason, type TopicNaming } from './freshness';
import type { PinStore } from './pins';
import type { AppliedPoller } from './poller';
import type { WalPosition } from './wal';
import type { SharedPins, SharedPinToken } from '../control/shared-pins';
import type { PinPosition } from './freshness';

/**
 * What the fleet's shared pins said before a request was routed: the key's pins in the control store (reads),
 * the pin a write raised there (writes), or that the store could not be asked (the read goes to the source).
 */
export interface PreparedPins {
  readonly shared?: readonly PinPosition[];
  readonly token?: SharedPinToken;
  readonly unavailable?: boolean;
}

/** A request of a CDC-aware route as the CDC step sees it: where the table sends it, and what identifies its key. */
export interface CdcRequest {
  readonly route: CompiledRoute | undefined;
  readonly upstream: CompiledUpstream;
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly clientAddress: string | undefined;
  /** What the fleet's shared pins said ({@link CdcReads.prepare}). */
  readonly prepared?: PreparedPins;
}

/** Proxy-wide CDC settings (from the environment). */
export interface CdcSettings extends TopicNaming {
  /** a report older than this (no good poll since) counts as unknown, ms */
  readonly staleAfterMs: number;
  /** added to the proxy clock when a pin waits for a commit time (no database connection), ms */
  readonly clockSkewMs: number;
}

/** Counters of one CDC-aware route. */
interface RouteCounters {
  service: number;
  source: Record<SourceReason, number>;
  pinned: number;
  cancelled: number;
  /** writes sent to the service that released their key's pins */
  released: number;
}

const SAFE = new Set(['GET', 'HEAD']);
const READ_ONLY = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

function firstHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}

/** The entity key of a request, read like the canary key: header, else path parameter, else client address. */
export function entityKey(
  cdc: Pick<CompiledCdc, 'header' | 'paramIndex'>,
  url: string,
  headers: IncomingHttpHeaders,
  clientAddress: string | undefined,
): string {
  const fromHeader = cdc.header === undefined ? undefined : firstHeader(headers, cdc.header);
  if (fromHeader !== undefined) return fromHeader;
  if (cdc.paramIndex !== undefined) {
    const parsed = parseRequestTarget(url);
    const segment = parsed.ok ? parsed.segments[cdc.paramIndex] : undefined;
    if (segment !== undefined) return segment;
  }
  return clientAddress ?? '';
}

/** The upstreams whose `/cdc/applied` must be polled: every non-source upstream a CDC-aware route may read from. */
export function cdcUpstreams(table: CompiledTable): CompiledUpstream[] {
  const out = new Map<string, CompiledUpstream>();
  for (const r of table.routes) {
    if (!r.cdc) continue;
    for (const u of [r.upstream, r.canary?.baseline, r.shadow?.baseline]) {
      if (u && u.name !== r.cdc.source.name) out.set(u.name, u);
    }
  }
  return [...out.values()];
}

/**
 * CDC-aware reads and read-your-writes for the proxy: reroutes a route's safe requests to its source while the
 * serving upstream is behind (lag above `maxLagMs`, or unknown) or the key is pinned by a write the upstream has
 * not applied; pins keys on writes answered by the source. Counted per route, in metrics and for the admin API;
 * changes of a route's state are logged.
 */
export class CdcReads {
  private readonly counters = new Map<string, RouteCounters>();
  private readonly sharedCounts = { lookups: 0, lookupFailures: 0, writes: 0, writeFailures: 0, releases: 0 };
  private readonly lastState = new Map<string, string>();
  private readonly now: () => number;

  constructor(
    private readonly options: {
      poller: AppliedPoller;
      pins: PinStore;
      /** The fleet's pins in the control store (absent: this process's pins only). */
      shared?: SharedPins;
      wal?: WalPosition;
      settings: CdcSettings;
      metrics: ProxyMetrics;
      logger: Logger;
      now?: () => number;
    },
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Follows the table in force: which upstreams to poll, how long pins live. */
  sync(table: CompiledTable): void {
    this.options.poller.setTargets(cdcUpstreams(table));
    const longest = Math.max(0, ...table.routes.map((r) => r.cdc?.pinMs ?? 0));
    this.options.pins.setTtl(longest > 0 ? longest : 15_000);
    this.options.shared?.setTtl(longest > 0 ? longest : 15_000);
  }

  /**
   * With shared pins, the asynchronous step before a CDC-aware request is routed: a read bound for the service
   * looks its key up in the control store; a write bound for the source pins its key there before it is sent.
   * `undefined` when the request needs neither.
   */
  prepare({ route, upstream, method, url, headers, clientAddress }: CdcRequest): Promise<PreparedPins> | undefined {
    const shared = this.options.shared;
    const cdc = route?.cdc;
    if (!shared || !route || !cdc) return undefined;
    const key = entityKey(cdc, url, headers, clientAddress);
    /** What the request does when the control store fails: counted, logged, and the answer to go on with. */
    const onFailure =
      <T>(count: 'lookupFailures' | 'writeFailures', message: string, answer: T) =>
      (err: unknown): T => {
        this.sharedCounts[count]++;
        this.options.logger.warn({ event: LOG_EVENTS.cdcSharedPinsFailed, route: route.id, err }, message);
        return answer;
      };
    if (SAFE.has(method)) {
      // reads look pins up only on routes that honour them (readYourWrites); writes pin on every CDC-aware route
      if (upstream.name === cdc.source.name || cdc.pinMs === undefined) return undefined;
      this.sharedCounts.lookups++;
      return shared
        .find(cdc.tables, key)
        .then(
          (pins) => ({ shared: pins }),
          onFailure('lookupFailures', 'cannot look up shared pins; the read goes to the source', { unavailable: true }),
        );
    }
    if (READ_ONLY.has(method)) return undefined;
    if (upstream.name !== cdc.source.name) {
      // a write bound for the service: the fleet's readers stop sending the key to the source
      this.sharedCounts.releases++;
      return shared
        .release(cdc.tables, key)
        .then(
          () => ({}),
          onFailure(
            'writeFailures',
            'cannot release the shared pins of a write sent to the service; they stay until the service applies them',
            {},
          ),
        );
    }
    this.sharedCounts.writes++;
    return shared
      .begin(cdc.tables, key)
      .then(
        (token) => ({ token }),
        onFailure(
          'writeFailures',
          'cannot pin the write for the fleet; only this process will read it from the source',
          {},
        ),
      );
  }

  /**
   * The upstream that serves a request: `upstream` unless the route is CDC-aware, the request safe, `upstream`
   * not the source, and the verdict says the source (then `reason` says why).
   */
  route(
    { route, upstream, method, url, headers, clientAddress, prepared }: CdcRequest,
    requestId: string,
  ): { upstream: CompiledUpstream; reason?: SourceReason } {
    const cdc = route?.cdc;
    if (!route || !cdc || !SAFE.has(method) || upstream.name === cdc.source.name) return { upstream };
    const state = this.options.poller.get(upstream.name);
    const pins =
      cdc.pinMs === undefined
        ? []
        : [
            ...this.options.pins.find(cdc.tables, entityKey(cdc, url, headers, clientAddress)),
            ...(prepared?.shared ?? []),
          ];
    const verdict: ReturnType<typeof decideRead> = prepared?.unavailable
      ? { serve: 'source', reason: 'unknown' }
      : decideRead({
          report: state?.report,
          reportAt: state?.reportAt,
          staleAfterMs: this.options.settings.staleAfterMs,
          tables: cdc.tables,
          naming: this.options.settings,
          maxLagMs: cdc.maxLagMs,
          pins,
          pinMs: cdc.pinMs,
          now: this.now(),
        });
    const c = this.countersOf(route.id);
    if (verdict.serve === 'service') {
      c.service++;
      this.options.metrics.cdcRead(route.id, 'service', 'fresh');
      this.transition(route.id, upstream.name, 'fresh', verdict.lagMs, state?.error);
      return { upstream };
    }
    c.source[verdict.reason]++;
    this.options.metrics.cdcRead(route.id, 'source', verdict.reason);
    // a pinned key is not a state of the route; lag and unknown are
    if (verdict.reason !== 'pinned')
      this.transition(route.id, upstream.name, verdict.reason, verdict.lagMs, state?.error);
    this.options.logger.debug(
      {
        event: LOG_EVENTS.cdcReadFromSource,
        route: route.id,
        upstream: upstream.name,
        source: cdc.source.name,
        reason: verdict.reason,
        lagMs: verdict.lagMs,
        requestId,
      },
      'CDC-aware read served by the source',
    );
    return { upstream: cdc.source, reason: verdict.reason };
  }

  /**
   * For a mutating request of a CDC-aware route sent to its source: pins the key now and returns what to call
   * with the source's answer status (undefined: no clean answer, e.g. the response broke). Otherwise undefined.
   */
  write({
    route,
    upstream,
    method,
    url,
    headers,
    clientAddress,
    prepared,
  }: CdcRequest): ((status: number | undefined) => void) | undefined {
    const cdc = route?.cdc;
    if (!route || !cdc || READ_ONLY.has(method)) return undefined;
    if (upstream.name !== cdc.source.name) {
      if (this.options.pins.release(cdc.tables, entityKey(cdc, url, headers, clientAddress)) > 0) {
        this.countersOf(route.id).released++;
        this.options.metrics.cdcPin(route.id, 'released');
      }
      return undefined;
    }
    const { wal, metrics, logger, settings } = this.options;
    const pins = this.withShared(prepared?.token, route.id);
    const token = pins.begin(cdc.tables, entityKey(cdc, url, headers, clientAddress));
    const c = this.countersOf(route.id);
    return (status) => {
      // no clean answer (undefined): the write may have been committed, so the key stays pinned
      if (status !== undefined && (status < 200 || status > 299)) {
        pins.cancel(token);
        c.cancelled++;
        metrics.cdcPin(route.id, 'cancelled');
        return;
      }
      c.pinned++;
      metrics.cdcPin(route.id, 'pinned');
      const byTime = () => pins.resolve(token, { afterTsMs: this.now() + settings.clockSkewMs });
      if (!wal) return byTime();
      wal.current().then(
        (lsn) => pins.resolve(token, { lsn }),
        (err: unknown) => {
          logger.warn(
            { event: LOG_EVENTS.cdcWalPositionFailed, route: route.id, err },
            'cannot read the source WAL position; the pin waits for a commit time instead',
          );
          byTime();
        },
      );
    };
  }

  /** Everything the admin API shows: upstream reports and lag per table, route counters, pins. */
  stats(table: CompiledTable): object {
    const now = this.now();
    const { settings } = this.options;
    const upstreams: Record<string, object> = {};
    for (const s of this.options.poller.all()) {
      const tables = [
        ...new Set(table.routes.flatMap((r) => (r.cdc && r.upstream.name === s.upstream ? r.cdc.tables : []))),
      ];
      const lag: Record<string, number | null> = {};
      for (const t of tables) lag[t] = s.report ? (lagMs(tableProgress(s.report, [t], settings), now) ?? null) : null;
      upstreams[s.upstream] = {
        url: s.url,
        ok: s.error === undefined && s.reportAt !== undefined && now - s.reportAt <= settings.staleAfterMs,
        error: s.error ?? null,
        failures: s.failures,
        polls: s.polls,
        reportAgeMs: s.reportAt === undefined ? null : now - s.reportAt,
        lagMs: lag,
        report: s.report ?? null,
      };
    }
    const routes: Record<string, object> = {};
    for (const r of table.routes) {
      if (!r.cdc) continue;
      routes[r.id] = {
        tables: r.cdc.tables,
        source: r.cdc.source.name,
        maxLagMs: r.cdc.maxLagMs,
        pinMs: r.cdc.pinMs ?? null,
        state: this.lastState.get(r.id) ?? null,
        counters: this.countersOf(r.id),
      };
    }
    return {
      settings: { ...settings, pinsWaitFor: this.options.wal ? 'wal-lsn' : 'commit-time' },
      upstreams,
      routes,
      pins: this.options.pins.stats(),
      sharedPins: this.options.shared ? { ...this.sharedCounts } : null,
    };
  }

  /**
   * The local pin store, with every settlement of a write also applied to its shared pin (`token`), in the
   * background: the shared pin is already pending, so readers elsewhere go to the source until it settles.
   */
  private withShared(
    token: SharedPinToken | undefined,
    routeId: string,
  ): Pick<PinStore, 'begin' | 'resolve' | 'cancel'> {
    const local = this.options.pins;
    const shared = this.options.shared;
    if (!token || !shared) return local;
    const report = (err: unknown) => {
      this.sharedCounts.writeFailures++;
      this.options.logger.warn(
        { event: LOG_EVENTS.cdcSharedPinsFailed, route: routeId, err },
        'cannot settle the shared pin; it stays until it expires',
      );
    };
    return {
      begin: (tables, key) => local.begin(tables, key),
      resolve: (t, position) => {
        local.resolve(t, position);
        shared.resolve(token, position).catch(report);
      },
      cancel: (t) => {
        local.cancel(t);
        shared.cancel(token).catch(report);
      },
    };
  }

  /** For the metrics gauges. */
  gauges(table: CompiledTable): {
    pinnedKeys: number;
    lag: Array<{ upstream: string; table: string; seconds: number }>;
  } {
    const now = this.now();
    const lag: Array<{ upstream: string; table: string; seconds: number }> = [];
    for (const s of this.options.poller.all()) {
      if (!s.report) continue;
      const tables = new Set(
        table.routes.flatMap((r) => (r.cdc && r.upstream.name === s.upstream ? r.cdc.tables : [])),
      );
      for (const t of tables) {
        const ms = lagMs(tableProgress(s.report, [t], this.options.settings), now);
        if (ms !== undefined) lag.push({ upstream: s.upstream, table: t, seconds: ms / 1000 });
      }
    }
    return { pinnedKeys: this.options.pins.stats().size, lag };
  }

  /** Stops polling. */
  close(): void {
    this.options.poller.close();
  }

  private countersOf(routeId: string): RouteCounters {
    let c = this.counters.get(routeId);
    if (!c) {
      c = { service: 0, source: { unknown: 0, lag: 0, pinned: 0 }, pinned: 0, cancelled: 0, released: 0 };
      this.counters.set(routeId, c);
    }
    return c;
  }

  private transition(routeId: string, upstream: string, state: string, lag: number | undefined, error?: string): void {
    const before = this.lastState.get(routeId);
    if (before === state) return;
    this.lastState.set(routeId, state);
    const fields = {
      event: LOG_EVENTS.cdcRouteState,
      route: routeId,
      upstream,
      from: before ?? null,
      to: state,
      lagMs: lag,
      error,
    };
    if (state === 'fresh') this.options.logger.info(fields, `CDC-aware route ${routeId} reads from ${upstream} again`);
    else this.options.logger.warn(fields, `CDC-aware route ${routeId} reads from the source: ${state}`);
  }
}
