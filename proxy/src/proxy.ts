import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { requestIdOf, type Logger } from '@warmhouse/shared';
import { PROXY_ERRORS, type ProxyErrorCode } from './errors';
import { formatLatency, forward, PROXY_LATENCY_HEADER, type ForwardOutcome, type Tap } from './forward/forwarder';
import { CircuitBreakers } from './forward/breaker';
import { UpstreamPools } from './forward/pools';
import { rawErrorResponse, sendError } from './forward/respond';
import { forwardUpgrade } from './forward/upgrade';
import { LOG_EVENTS } from './log-events';
import { ProxyMetrics } from './metrics';
import { Shadower } from './shadow/shadower';
import { roleOf, RouteStats } from './stats/route-stats';
import type { CdcReads, PreparedPins } from './cdc/cdc-reads';
import { decide, type Decision } from './routing/decide';
import type { CompiledUpstream } from './table/compile';
import type { TableSource } from './table/store';

/** Route label for requests refused before routing (parse errors). */
const NO_ROUTE = '(none)';
/** Target label when no upstream was involved. */
const NO_TARGET = '(none)';

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

function clientErrorCode(code: string | undefined): ProxyErrorCode {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return 'PROXY_ERR_HEADERS_TOO_LARGE';
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'PROXY_ERR_CLIENT_TIMEOUT';
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_INVALID_CHUNK_SIZE':
      return 'PROXY_ERR_BAD_FRAMING';
    default:
      return 'PROXY_ERR_MALFORMED_REQUEST';
  }
}

/** Whether the request announces a body. */
function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
}

type ForwardDecision = Extract<Decision, { action: 'forward' }>;

/** RFC 9112 §3.2: an HTTP/1.1 request needs exactly one Host header. */
function hostProblem(req: IncomingMessage): string | undefined {
  let hosts = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
  }
  if (hosts > 1) return 'more than one Host header';
  if (hosts === 0 && req.httpVersionMinor === 1) return 'missing Host header';
  return undefined;
}

/**
 * Builds the client-facing proxy: every request is decided once against the table in force when it
 * arrives (so a toggle affects new requests at once and never one in flight), then forwarded through
 * the upstream's keep-alive pool with both bodies streamed. No body parser ever runs here.
 */
export function createProxy(options: ProxyOptions): StranglerProxy {
  const log = options.logger.child({ module: 'proxy' });
  const metrics = options.metrics ?? new ProxyMetrics();
  const pools = options.pools ?? new UpstreamPools();
  const maxBodyBytes = options.maxBodyBytes ?? 10 * 1024 * 1024;
  const decisionHeaders = options.decisionHeaders ?? true;
  const timeouts = options.clientTimeouts ?? {};
  const breakers =
    options.breakers ??
    new CircuitBreakers(undefined, (upstream, state) => {
      metrics.circuit(upstream, state);
      log.warn({ event: LOG_EVENTS.circuitChanged, upstream, state }, `circuit of ${upstream} is ${state}`);
    });
  const stats = options.stats ?? new RouteStats();
  const shadower =
    options.shadower ??
    new Shadower(pools, log, options.shadowConcurrency ?? 16, (route, result) => {
      metrics.shadow(route, result);
      stats.shadow(route, result);
    });
  /** Records one upstream exchange of a route in the rolling statistics. */
  const record = (decision: ForwardDecision, upstream: string, t0: number, failed: boolean): void => {
    const role = roleOf(decision.route?.spec, upstream, options.table.current.spec);
    stats.request(decision.routeId, role, performance.now() - t0, failed);
  };
  const upgraded = new Set<Duplex>();
  let inFlight = 0;
  let drained: (() => void) | undefined;

  const server = http.createServer({
    maxHeaderSize: options.maxHeaderBytes ?? 16 * 1024,
    requestTimeout: timeouts.requestMs ?? 300_000,
    headersTimeout: timeouts.headersMs ?? 30_000,
    keepAliveTimeout: timeouts.keepAliveMs ?? 5_000,
    requireHostHeader: false, // checked in hostProblem() to answer with a JSON body like every other refusal
    joinDuplicateHeaders: false,
    insecureHTTPParser: false,
  });
  // Unlimited count: the size limit (maxHeaderSize) bounds headers; a count limit would drop some silently.
  server.maxHeadersCount = 0;

  const extraHeaders = (requestId: string, decision: Decision): string[] => {
    const h = ['x-request-id', requestId];
    if (decisionHeaders && decision.routeId !== undefined) h.push('x-strangler-route', decision.routeId);
    if (decisionHeaders && decision.action === 'forward') h.push('x-strangler-upstream', decision.upstream.name);
    return h;
  };

  const started = (): void => {
    inFlight++;
  };
  const ended = (): void => {
    inFlight--;
    if (inFlight === 0) drained?.();
  };

  const refuse = (
    req: IncomingMessage,
    res: ServerResponse,
    decision: Decision,
    code: ProxyErrorCode,
    reason: string,
    t0: number,
    requestId: string,
    headers: string[] = extraHeaders(requestId, decision),
  ): void => {
    const upstream = decision.action === 'forward' ? decision.upstream.name : decision.upstream;
    // Refused requests close the connection (suspicious input, unread body); a switched-off route keeps it
    // open unless the client is sending a body nobody will read.
    const close = (code !== 'PROXY_ERR_ROUTE_UNAVAILABLE' && code !== 'PROXY_ERR_CIRCUIT_OPEN') || hasBody(req);
    if (decisionHeaders) headers.push(PROXY_LATENCY_HEADER, formatLatency(performance.now() - t0));
    sendError(
      res,
      code,
      { route: decision.routeId, upstream, requestId, message: `${PROXY_ERRORS[code].message}: ${reason}` },
      headers,
      close,
    );
    metrics.observe(
      decision.routeId ?? NO_ROUTE,
      upstream ?? NO_TARGET,
      PROXY_ERRORS[code].status,
      (performance.now() - t0) / 1000,
    );
    log.info(
      {
        event: LOG_EVENTS.requestRefused,
        code,
        reason,
        route: decision.routeId,
        upstream,
        requestId,
        method: req.method,
        url: req.url,
      },
      'request refused',
    );
  };

  const handle = (req: IncomingMessage, res: ServerResponse, expectContinue: boolean): void => {
    const t0 = performance.now();
    const requestId = requestIdOf(req);
    const decided = decide(req.method!, req.url!, req.headers, options.table.current, req.socket.remoteAddress);
    if (decided.action === 'respond') {
      refuse(req, res, decided, decided.code, decided.reason, t0, requestId);
      return;
    }
    // CDC-aware routes: with the fleet's shared pins, the key is looked up (read) or pinned (write) first
    const prepared = options.cdc?.prepare(
      decided.route,
      decided.upstream,
      req.method!,
      req.url!,
      req.headers,
      req.socket.remoteAddress,
    );
    if (prepared === undefined) return route(req, res, expectContinue, { decided, t0, requestId });
    prepared.then(
      (pins) => route(req, res, expectContinue, { decided, t0, requestId, pins }),
      (err: unknown) => {
        log.error({ event: LOG_EVENTS.internalError, err, requestId }, 'CDC pin step failed');
        route(req, res, expectContinue, { decided, t0, requestId, pins: { unavailable: true } });
      },
    );
  };

  const route = (
    req: IncomingMessage,
    res: ServerResponse,
    expectContinue: boolean,
    step: { decided: ForwardDecision; t0: number; requestId: string; pins?: PreparedPins },
  ): void => {
    const { decided, t0, requestId } = step;
    // CDC-aware routes: a stale or pinned read goes to the source; a write to the source pins its key
    const cdc = options.cdc && decided.route?.cdc ? options.cdc : undefined;
    const cdcRouted = cdc?.route(
      decided.route,
      decided.upstream,
      req.method!,
      req.url!,
      req.headers,
      req.socket.remoteAddress,
      requestId,
      step.pins,
    );
    const decision: ForwardDecision =
      cdcRouted && cdcRouted.upstream !== decided.upstream ? { ...decided, upstream: cdcRouted.upstream } : decided;
    const headersOf = (): string[] => {
      const h = extraHeaders(requestId, decision);
      if (decisionHeaders && cdcRouted?.reason !== undefined) h.push('x-strangler-cdc', cdcRouted.reason);
      return h;
    };
    const badHost = hostProblem(req);
    if (badHost !== undefined) {
      refuse(req, res, decision, 'PROXY_ERR_MALFORMED_REQUEST', badHost, t0, requestId);
      return;
    }
    const limit = decision.upstream.maxBodyBytes ?? maxBodyBytes;
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) {
      refuse(
        req,
        res,
        decision,
        'PROXY_ERR_BODY_TOO_LARGE',
        `Content-Length ${declared} exceeds ${limit} bytes`,
        t0,
        requestId,
      );
      return;
    }
    if (expectContinue) res.writeContinue();
    const settleWrite = cdc?.write(
      decision.route,
      decision.upstream,
      req.method!,
      req.url!,
      req.headers,
      req.socket.remoteAddress,
      step.pins,
    );
    const settle = (outcome: ForwardOutcome): void =>
      settleWrite?.(outcome.error === undefined && outcome.fallback === undefined ? outcome.status : undefined);
    const route = decision.route;
    const fb = route?.fallback;
    if (fb === undefined || fb.upstream === decision.upstream) {
      const copy = route?.shadow
        ? shadower.begin(decision.routeId, route.shadow, route.upstream, req, decision.target, requestId)
        : undefined;
      send(
        req,
        res,
        decision,
        decision.upstream,
        t0,
        requestId,
        limit,
        headersOf(),
        copy ? { tap: copy.tap } : {},
        (outcome) => {
          settle(outcome);
          copy?.done(outcome.error === undefined && !outcome.clientAborted);
        },
      );
      return;
    }
    // Route with a fallback, served by another upstream: circuit breaker, fallback for safe requests only.
    const breaker = breakers.get(decision.upstream.name, decision.upstream.breaker);
    const safe = (req.method === 'GET' || req.method === 'HEAD') && !hasBody(req);
    const admission = breaker.admit();
    const viaFallback = (reason: string): void => {
      metrics.fallback(decision.routeId, decision.upstream.name, fb.upstream.name, reason);
      stats.fallback(decision.routeId);
      log.info(
        {
          event: LOG_EVENTS.fallback,
          route: decision.routeId,
          from: decision.upstream.name,
          to: fb.upstream.name,
          reason,
          requestId,
        },
        'answered from the fallback',
      );
      const headers = ['x-request-id', requestId];
      if (decisionHeaders)
        headers.push('x-strangler-route', decision.routeId, 'x-strangler-upstream', fb.upstream.name);
      headers.push('x-strangler-fallback', reason);
      send(req, res, decision, fb.upstream, performance.now(), requestId, limit, headers, {});
    };
    if (admission === 'refuse') {
      if (safe) return viaFallback('circuit-open');
      settleWrite?.(503); // never forwarded: nothing written
      const headers = extraHeaders(requestId, decision);
      headers.push('retry-after', String(breaker.retryAfterSeconds()));
      record(decision, decision.upstream.name, t0, true);
      refuse(
        req,
        res,
        decision,
        'PROXY_ERR_CIRCUIT_OPEN',
        `circuit of "${decision.upstream.name}" is open`,
        t0,
        requestId,
        headers,
      );
      return;
    }
    const probe = admission === 'probe';
    send(
      req,
      res,
      decision,
      decision.upstream,
      t0,
      requestId,
      limit,
      headersOf(),
      safe ? { fallbackStatuses: fb.statuses } : { retryAfterSeconds: breaker.retryAfterSeconds() },
      (outcome) => {
        settle(outcome);
        if (outcome.fallback !== undefined) {
          breaker.failure();
          viaFallback(outcome.fallback);
        } else if (outcome.clientAborted) breaker.release(probe);
        else if (
          outcome.error !== undefined
            ? PROXY_ERRORS[outcome.error.code].status >= 500 // a 413 is the client's fault, not the upstream's
            : outcome.status >= 500 || fb.statuses.has(outcome.status)
        )
          breaker.failure();
        else breaker.success();
      },
    );
  };

  /** Forwards to one upstream; `after` runs once it ended (a fallback outcome is not answered yet). */
  const send = (
    req: IncomingMessage,
    res: ServerResponse,
    decision: ForwardDecision,
    upstream: CompiledUpstream,
    t0: number,
    requestId: string,
    limit: number,
    responseHeaders: string[],
    policy: { fallbackStatuses?: ReadonlySet<number>; retryAfterSeconds?: number; tap?: Tap },
    after?: (outcome: ForwardOutcome) => void,
  ): void => {
    const target = upstream.name;
    const routeId = decision.routeId;
    const flight = metrics.flight(target);
    flight.inc();
    started();
    forward(
      pools,
      {
        req,
        res,
        routeId,
        upstream,
        target: decision.target,
        requestId,
        maxBodyBytes: limit,
        responseHeaders,
        arrivedAt: decisionHeaders ? t0 : undefined,
        ...policy,
      },
      (outcome: ForwardOutcome) => {
        flight.dec();
        if (outcome.fallback !== undefined) record(decision, target, t0, true);
        else if (!outcome.clientAborted)
          record(
            decision,
            target,
            t0,
            outcome.status >= 500 || (outcome.error !== undefined && PROXY_ERRORS[outcome.error.code].status >= 500),
          );
        if (outcome.fallback === undefined) {
          metrics.observe(routeId, target, outcome.status, (performance.now() - t0) / 1000);
          if (outcome.error) {
            const { code, stage, cause } = outcome.error;
            const fields = {
              route: routeId,
              upstream: target,
              stage,
              code,
              requestId,
              method: req.method,
              url: req.url,
              err: cause,
            };
            if (outcome.clientAborted) log.info({ ...fields, event: LOG_EVENTS.clientAborted }, 'client went away');
            else if (PROXY_ERRORS[code].status >= 500) {
              metrics.upstreamError(target, stage, code);
              log.error({ ...fields, event: LOG_EVENTS.upstreamError }, 'forwarding failed');
            } else log.info({ ...fields, event: LOG_EVENTS.requestRefused }, 'request refused');
          }
        } else {
          metrics.upstreamError(target, outcome.error?.stage ?? 'response-headers', outcome.fallback);
        }
        after?.(outcome);
        ended();
      },
    );
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => handle(req, res, false));
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => handle(req, res, true));

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const t0 = performance.now();
    const requestId = requestIdOf(req);
    const decision = decide(req.method!, req.url!, req.headers, options.table.current, req.socket.remoteAddress);
    socket.on('error', () => socket.destroy());
    if (decision.action === 'respond') {
      socket.end(
        rawErrorResponse(
          decision.code,
          { route: decision.routeId, upstream: decision.upstream, requestId, message: decision.reason },
          extraHeaders(requestId, decision),
        ),
      );
      metrics.observe(
        decision.routeId ?? NO_ROUTE,
        decision.upstream ?? NO_TARGET,
        PROXY_ERRORS[decision.code].status,
        0,
      );
      return;
    }
    started();
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    const job = {
      req,
      socket,
      head,
      routeId: decision.routeId,
      upstream: decision.upstream,
      target: decision.target,
      requestId,
      responseHeaders: extraHeaders(requestId, decision),
    };
    const up = forwardUpgrade(job, (outcome) => {
      metrics.observe(decision.routeId, decision.upstream.name, outcome.status, (performance.now() - t0) / 1000);
      if (outcome.error) {
        metrics.upstreamError(decision.upstream.name, outcome.error.stage, outcome.error.code);
        log.error(
          {
            event: LOG_EVENTS.upstreamError,
            route: decision.routeId,
            upstream: decision.upstream.name,
            ...outcome.error,
            err: outcome.error.cause,
            requestId,
          },
          'upgrade failed',
        );
      }
      ended();
    });
    upgraded.add(up);
    up.once('close', () => upgraded.delete(up));
  });

  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    socket.end(rawErrorResponse('PROXY_ERR_METHOD_NOT_ALLOWED', { requestId: requestIdOf(req) }));
    metrics.observe(NO_ROUTE, NO_TARGET, 405, 0);
  });

  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const current = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || (current && current.headersSent)) {
      socket.destroy();
      return;
    }
    const code = clientErrorCode(err.code);
    socket.end(
      rawErrorResponse(code, {
        stage: 'request',
        message: `${PROXY_ERRORS[code].message} (${err.code ?? 'parse error'})`,
      }),
    );
    metrics.observe(NO_ROUTE, NO_TARGET, PROXY_ERRORS[code].status, 0);
    log.info(
      { event: LOG_EVENTS.clientError, code, parserCode: err.code, reason: err.message },
      'malformed request refused',
    );
  });

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
