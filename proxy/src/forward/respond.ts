import type { ServerResponse } from 'node:http';
import { problemHeaders, sendProblem } from '@warmhouse/shared';
import { PROXY_ERRORS, problemBody, type ProxyErrorCode, type ProxyStage } from '../errors';

/** Who the error is about: route, upstream and stage appear in the problem body (extension members). */
export interface ErrorContext {
  route?: string;
  upstream?: string;
  stage?: ProxyStage;
  requestId?: string;
  message?: string;
  details?: unknown;
}

/** Writes the proxy's own problem (RFC 9457); `close` ends the connection after it (unread body, broken framing). */
export function sendError(
  res: ServerResponse,
  code: ProxyErrorCode,
  ctx: ErrorContext,
  extraHeaders: readonly string[],
  close: boolean,
): void {
  const headers: string[] = ['cache-control', 'no-store'];
  if (code === 'PROXY_ERR_ROUTE_UNAVAILABLE') headers.push('retry-after', '5');
  if (close) headers.push('connection', 'close');
  for (const h of extraHeaders) headers.push(h);
  if (close) res.shouldKeepAlive = false;
  sendProblem(res, problemBody(code, ctx), { headers });
}

/** A complete raw HTTP/1.1 error response (for sockets outside a ServerResponse: parse errors, upgrades). */
export function rawErrorResponse(
  code: ProxyErrorCode,
  ctx: ErrorContext,
  extraHeaders: readonly string[] = [],
): string {
  const status = PROXY_ERRORS[code].status;
  const body = JSON.stringify(problemBody(code, ctx));
  const headers = problemHeaders(body, ['connection', 'close', ...extraHeaders]);
  let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${head}\r\n${body}`;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Content Too Large',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};
