import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { requestIdOf, type Logger } from '@warmhouse/shared';
import type { CircuitBreakers } from './forward/breaker';
import { ownHeadersFor } from './forward/headers';
import { UpstreamPools } from './forward/pools';
import { NO_TRUSTED_PEERS, type TrustedPeers } from './inbound/trusted-peers';
import { ProxyMetrics } from './metrics';
import type { Shadower } from './shadow/shadower';
import { RouteStats } from './stats/route-stats';
import type { CdcReads } from './cdc/cdc-reads';
import { decide } from './routing/decide';
import type { TableSource } from './table/store';
import { NO_AUTHENTICATOR, type Authenticator } from './auth/authenticator';
import { admission } from './pipeline/admit';
import { authentication } from './pipeline/authenticate';
import { refuse } from './pipeline/answer';
import { breakerFallback } from './pipeline/breaker-fallback';
import { cdcPinning, cdcRouting } from './pipeline/cdc';
import { defaultBreakers, defaultShadower } from './pipeline/defaults';
import type { PipelineContext } from './pipeline/context';
import { compose, type Policy } from './pipeline/exchange';
import { Recorder } from './pipeline/record';
import { sendUpstream } from './pipeline/send';
import { refuseConnect, refuseMalformed, upgradeHandler } from './pipeline/raw-socket';
import { shadowing } from './pipeline/shadow';

/** Options of {@link createProxy}. */
export interface ProxyOptions {
  /** Where the table in force is read, once per request (a {@link RouteTableStore} or a fixed holder). */
  table: TableSource;
  logger: Logger;
  metrics?: ProxyMetrics;
  pools?: UpstreamPools;
  /** Request body limit in bytes (413 beyond); an upstream's `maxBodyBytes` overrides it. Default 10 MiB. */
  maxBodyBytes?: number;
  /** Limit of the request head (request line and headers) in bytes (431 beyond). Default 16 KiB. */
  maxHeaderBytes?: number;
  /** Client-side timeouts (ms): whole request head+body, request head, idle keep-alive. */
  clientTimeouts?: { requestMs?: number; headersMs?: number; keepAliveMs?: number };
  /**
   * Add `X-Strangler-Route`, `X-Strangler-Upstream` (which target answered) and `X-Strangler-Proxy-Latency`
   * (milliseconds spent in the proxy itself) to every response. Default true.
   */
  decisionHeaders?: boolean;
  /** Circuit breakers (tests inject a clock through them); default one per upstream with the table's settings. */
  breakers?: CircuitBreakers;
  /** Shadow copies in flight at most (beyond: not shadowed, counted as dropped). Default 16. */
  shadowConcurrency?: number;
  shadower?: Shadower;
  /** Per-route rolling statistics (requests, errors, latency per monolith/service, shadow, fallbacks). */
  stats?: RouteStats;
  /** CDC-aware reads and read-your-writes pins for routes with `cdc` (absent: such routes route as usual). */
  cdc?: CdcReads;
  /** Clients whose `X-Strangler-*` request fields are forwarded; default none (every client's are removed). */
  trustedPeers?: TrustedPeers;
  /** Bearer-token checks of routes with `auth`; default none configured (such routes answer 500 when required). */
  authenticator?: Authenticator;
}

/** A proxy built but not listening: call `server.listen()`. */
export interface StranglerProxy {
  readonly server: http.Server;
  readonly metrics: ProxyMetrics;
  readonly pools: UpstreamPools;
  /** Per-upstream circuit breakers (used by routes with a fallback). */
  readonly breakers: CircuitBreakers;
  /** Shadow copies, their counters and latest differences (routes in mode `shadow`). */
  readonly shadower: Shadower;
  /** Per-route rolling statistics. */
  readonly stats: RouteStats;
  /** Requests (and upgrades being set up) being forwarded now. */
  inFlight(): number;
  /** Stops accepting, lets requests in flight finish for up to `graceMs`, then closes everything. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Builds the client-facing proxy: every request is decided once against the table in force when it arrives (so a
 * toggle affects new requests at once and never one in flight), then passes the pipeline of policies — CDC-aware
 * routing, admission, read-your-writes pins, shadowing, breaker and fallback — and is forwarded through the
 * upstream's keep-alive pool with both bodies streamed (`pipeline/`). No body parser ever runs here.
 */
export function createProxy(options: ProxyOptions): StranglerProxy {
  const log = options.logger.child({ module: 'proxy' });
  const metrics = options.metrics ?? new ProxyMetrics();
  const pools = options.pools ?? new UpstreamPools();
  const decisionHeaders = options.decisionHeaders ?? true;
  const timeouts = options.clientTimeouts ?? {};
  const breakers = options.breakers ?? defaultBreakers({ metrics, log });
  const stats = options.stats ?? new RouteStats();
  const shadower =
    options.shadower ?? defaultShadower({ pools, metrics, stats, log, maxInFlight: options.shadowConcurrency ?? 16 });
  const ctx: PipelineContext = {
    table: options.table,
    log,
    metrics,
    stats,
    pools,
    maxBodyBytes: options.maxBodyBytes ?? 10 * 1024 * 1024,
    decisionHeaders,
    trustedPeers: options.trustedPeers ?? NO_TRUSTED_PEERS,
    authenticator: options.authenticator ?? NO_AUTHENTICATOR,
  };
  const upgraded = new Set<Duplex>();
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const tracker = {
    started: (): void => void inFlight++,
    ended: (): void => {
      inFlight--;
      if (inFlight === 0) drained?.();
    },
  };
  const recorder = new Recorder(ctx);
  const cdc = options.cdc;
  const policies: Policy[] = [
    authentication(ctx),
    ...(cdc ? [cdcRouting(ctx, cdc)] : []),
    admission(ctx),
    ...(cdc ? [cdcPinning(cdc)] : []),
    shadowing(shadower),
    breakerFallback(ctx, breakers, recorder),
  ];
  const pipeline = compose(policies, sendUpstream(ctx, recorder, tracker));

  const server = http.createServer({
    maxHeaderSize: options.maxHeaderBytes ?? 16 * 1024,
    requestTimeout: timeouts.requestMs ?? 300_000,
    headersTimeout: timeouts.headersMs ?? 30_000,
    keepAliveTimeout: timeouts.keepAliveMs ?? 5_000,
    requireHostHeader: false, // checked by the admission policy to answer with a JSON body like every other refusal
    joinDuplicateHeaders: false,
    insecureHTTPParser: false,
  });
  // Unlimited count: the size limit (maxHeaderSize) bounds headers; a count limit would drop some silently.
  server.maxHeadersCount = 0;

  const ignoreEnd = (): void => {};
  const handle = (req: IncomingMessage, res: ServerResponse, expectContinue: boolean): void => {
    const arrivedAt = performance.now();
    const requestId = requestIdOf(req);
    const decision = decide(req.method!, req.url!, req.headers, options.table.current, req.socket.remoteAddress);
    if (decision.action === 'respond') {
      refuse(ctx, { req, res, decision, requestId, arrivedAt, code: decision.code, reason: decision.reason });
      return;
    }
    const own = ownHeadersFor(ctx.trustedPeers, req.socket.remoteAddress);
    pipeline({ req, res, expectContinue, arrivedAt, requestId, decision, forward: {}, own }, ignoreEnd);
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => handle(req, res, false));
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => handle(req, res, true));

  server.on('upgrade', upgradeHandler(ctx, tracker, upgraded));
  server.on('connect', refuseConnect(ctx));
  server.on('clientError', refuseMalformed(ctx));

  const close = async (graceMs = 10_000): Promise<void> => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      if (inFlight === 0) {
        for (const s of upgraded) s.destroy();
        server.closeAllConnections();
        return;
      }
      const timer = setTimeout(() => {
        for (const s of upgraded) s.destroy();
        server.closeAllConnections();
      }, graceMs);
      drained = () => {
        clearTimeout(timer);
        for (const s of upgraded) s.destroy();
        // let the last responses flush, then drop the idle keep-alive connections
        setImmediate(() => server.closeIdleConnections());
        setTimeout(() => server.closeAllConnections(), 1_000).unref();
      };
    });
    await pools.close();
  };

  return { server, metrics, pools, breakers, shadower, stats, inFlight: () => inFlight, close };
}
