import type { IncomingMessage, ServerResponse } from 'node:http';
import { PROXY_ERRORS, type ProxyErrorCode } from '../errors';
import { formatLatency, PROXY_LATENCY_HEADER } from '../forward/forwarder';
import { sendError } from '../forward/respond';
import { LOG_EVENTS } from '../log-events';
import type { Decision } from '../routing/decide';
import type { PipelineContext } from './context';
import type { Exchange } from './exchange';

/** Route label for requests refused before routing (parse errors). */
export const NO_ROUTE = '(none)';
/** Target label when no upstream was involved. */
export const NO_TARGET = '(none)';

/** What the response headers say of a request: its id, and what the proxy decided. */
export interface HeaderFacts {
  readonly requestId: string;
  readonly decision: Decision;
  readonly cdcReason?: string;
  readonly fallbackReason?: string;
}

/**
 * Headers the proxy adds to a response, flat: `X-Request-Id` always; with decision headers on, the route, the
 * upstream that answers and why a CDC-aware read went to the source; `X-Strangler-Fallback` whenever the
 * fallback answers.
 */
export function responseHeaders(facts: HeaderFacts, decisionHeaders: boolean): string[] {
  const { decision } = facts;
  const h = ['x-request-id', facts.requestId];
  if (decisionHeaders) {
    if (decision.routeId !== undefined) h.push('x-strangler-route', decision.routeId);
    if (decision.action === 'forward') h.push('x-strangler-upstream', decision.upstream.name);
    if (facts.cdcReason !== undefined) h.push('x-strangler-cdc', facts.cdcReason);
  }
  if (facts.fallbackReason !== undefined) h.push('x-strangler-fallback', facts.fallbackReason);
  return h;
}

/** Whether the request announces a body. */
export function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
}

/** Refusals after which a well-formed connection stays usable (when no unread body is on it). */
const KEEP_CONNECTION: ReadonlySet<ProxyErrorCode> = new Set<ProxyErrorCode>([
  'PROXY_ERR_ROUTE_UNAVAILABLE',
  'PROXY_ERR_CIRCUIT_OPEN',
  'PROXY_ERR_AUTH_REQUIRED',
  'PROXY_ERR_INVALID_TOKEN',
  'PROXY_ERR_INSUFFICIENT_SCOPE',
]);

/** A request the proxy answers itself with one of its errors. */
export interface Refusal extends HeaderFacts {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly arrivedAt: number;
  readonly code: ProxyErrorCode;
  readonly reason: string;
  /** Added after the {@link responseHeaders} (e.g. `Retry-After`). */
  readonly extraHeaders?: readonly string[];
}

/** The refusal of an exchange in the pipeline. */
export function refusalOf(
  ex: Exchange,
  code: ProxyErrorCode,
  reason: string,
  extraHeaders?: readonly string[],
): Refusal {
  return { ...ex, code, reason, extraHeaders };
}

/** Answers with the proxy's own JSON error, counted in the metrics and logged. */
export function refuse(ctx: PipelineContext, r: Refusal): void {
  const { decision, code } = r;
  const upstream = decision.action === 'forward' ? decision.upstream.name : decision.upstream;
  const headers = responseHeaders(r, ctx.decisionHeaders);
  if (r.extraHeaders) headers.push(...r.extraHeaders);
  // Refused requests close the connection (suspicious input, unread body); a switched-off route and an
  // authentication refusal keep it open unless the client is sending a body nobody will read.
  const close = !KEEP_CONNECTION.has(code) || hasBody(r.req);
  if (ctx.decisionHeaders) headers.push(PROXY_LATENCY_HEADER, formatLatency(performance.now() - r.arrivedAt));
  sendError(
    r.res,
    code,
    {
      route: decision.routeId,
      upstream,
      requestId: r.requestId,
      message: `${PROXY_ERRORS[code].message}: ${r.reason}`,
    },
    headers,
    close,
  );
  ctx.metrics.observe(
    decision.routeId ?? NO_ROUTE,
    upstream ?? NO_TARGET,
    PROXY_ERRORS[code].status,
    (performance.now() - r.arrivedAt) / 1000,
  );
  ctx.log.info(
    {
      event: LOG_EVENTS.requestRefused,
      code,
      reason: r.reason,
      route: decision.routeId,
      upstream,
      requestId: r.requestId,
      method: r.req.method,
      url: r.req.url,
    },
    'request refused',
  );
}
