import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { requestIdOf } from '@warmhouse/shared';
import { PROXY_ERRORS, type ProxyErrorCode } from '../errors';
import { challengeOf, ownWithIdentity, type Verdict } from '../auth/verdict';
import { ownHeadersFor, type OwnHeaders } from '../forward/headers';
import { rawErrorResponse } from '../forward/respond';
import { forwardUpgrade } from '../forward/upgrade';
import { LOG_EVENTS } from '../log-events';
import { decide } from '../routing/decide';
import { NO_ROUTE, NO_TARGET, responseHeaders } from './answer';
import type { PipelineContext } from './context';
import type { ForwardDecision } from './exchange';
import type { FlightTracker } from './send';

/*
 * What the proxy does with a socket that leaves HTTP request/response: upgrades (WebSocket) tunnelled to the
 * route's upstream, CONNECT refused, and malformed requests answered with a raw JSON error.
 */

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

/** The server's `upgrade` listener: decided like any request, then tunnelled; open tunnels kept in `open`. */
export function upgradeHandler(
  ctx: PipelineContext,
  tracker: FlightTracker,
  open: Set<Duplex>,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const { metrics, log, decisionHeaders } = ctx;
  return (req, socket, head) => {
    const t0 = performance.now();
    const requestId = requestIdOf(req);
    const decision = decide(req.method!, req.url!, req.headers, ctx.table.current, req.socket.remoteAddress);
    socket.on('error', () => socket.destroy());
    if (decision.action === 'respond') {
      socket.end(
        rawErrorResponse(
          decision.code,
          { route: decision.routeId, upstream: decision.upstream, requestId, message: decision.reason },
          responseHeaders({ requestId, decision }, decisionHeaders),
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
    const own = ownHeadersFor(ctx.trustedPeers, req.socket.remoteAddress);
    const auth = decision.route?.auth;
    if (auth === undefined) return tunnel(own);
    const settle = (verdict: Verdict): void => {
      if (verdict.ok) return tunnel(ownWithIdentity(own, verdict.claims));
      const headers = responseHeaders({ requestId, decision }, decisionHeaders);
      headers.push('www-authenticate', challengeOf(verdict));
      const message = `${PROXY_ERRORS[verdict.code].message}: ${verdict.reason}`;
      socket.end(
        rawErrorResponse(
          verdict.code,
          { route: decision.routeId, upstream: decision.upstream.name, requestId, message },
          headers,
        ),
      );
      metrics.observe(decision.routeId, decision.upstream.name, PROXY_ERRORS[verdict.code].status, 0);
      log.info(
        {
          event: LOG_EVENTS.requestRefused,
          code: verdict.code,
          reason: verdict.reason,
          route: decision.routeId,
          requestId,
        },
        'upgrade refused',
      );
    };
    const verdict = ctx.authenticator.check(req.rawHeaders, auth);
    if (verdict instanceof Promise) void verdict.then(settle);
    else settle(verdict);

    function tunnel(own: OwnHeaders): void {
      if (decision.action !== 'forward') return;
      tunnelUpgrade(ctx, { req, socket, head, t0, requestId, decision, own }, tracker, open);
    }
  };
}

/** One upgrade to tunnel once decided (and authenticated). */
interface UpgradeRequest {
  readonly req: IncomingMessage;
  readonly socket: Duplex;
  readonly head: Buffer;
  readonly t0: number;
  readonly requestId: string;
  readonly decision: ForwardDecision;
  readonly own: OwnHeaders;
}

function tunnelUpgrade(ctx: PipelineContext, u: UpgradeRequest, tracker: FlightTracker, open: Set<Duplex>): void {
  const { metrics, log, decisionHeaders } = ctx;
  const { req, socket, head, t0, requestId, decision } = u;
  tracker.started();
  open.add(socket);
  socket.once('close', () => open.delete(socket));
  const job = {
    req,
    socket,
    head,
    routeId: decision.routeId,
    upstream: decision.upstream,
    target: decision.target,
    requestId,
    responseHeaders: responseHeaders({ requestId, decision }, decisionHeaders),
    own: u.own,
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
    tracker.ended();
  });
  open.add(up);
  up.once('close', () => open.delete(up));
}

/** The server's `connect` listener: CONNECT is not proxied (405). */
export function refuseConnect(ctx: PipelineContext): (req: IncomingMessage, socket: Duplex) => void {
  return (req, socket) => {
    socket.on('error', () => socket.destroy());
    socket.end(rawErrorResponse('PROXY_ERR_METHOD_NOT_ALLOWED', { requestId: requestIdOf(req) }));
    ctx.metrics.observe(NO_ROUTE, NO_TARGET, 405, 0);
  };
}

/** The server's `clientError` listener: a request the parser refused gets a JSON error, then the socket ends. */
export function refuseMalformed(ctx: PipelineContext): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  return (err, socket) => {
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
    ctx.metrics.observe(NO_ROUTE, NO_TARGET, PROXY_ERRORS[code].status, 0);
    ctx.log.info(
      { event: LOG_EVENTS.clientError, code, parserCode: err.code, reason: err.message },
      'malformed request refused',
    );
  };
}
