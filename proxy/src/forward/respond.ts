import type { ServerResponse } from 'node:http';
import { errorBody, PROXY_ERRORS, type ProxyErrorCode, type ProxyStage } from '../errors';

/** Who the error is about: route, upstream and stage appear in the JSON body. */
export interface ErrorContext {
  route?: string;
  upstream?: string;
  stage?: ProxyStage;
  requestId?: string;
  message?: string;
  details?: unknown;
}

/** Writes the proxy's own JSON error; `close` ends the connection after it (unread body, broken framing). */
export function sendError(
  res: ServerResponse,
  code: ProxyErrorCode,
  ctx: ErrorContext,
  extraHeaders: readonly string[],
  close: boolean,
): void {
  const body = JSON.stringify(errorBody(code, ctx));
  const headers: string[] = [
    'content-type',
    'application/json',
    'content-length',
    String(Buffer.byteLength(body)),
    'cache-control',
    'no-store',
  ];
  if (code === 'PROXY_ERR_ROUTE_UNAVAILABLE') headers.push('retry-after', '5');
  if (close) headers.push('connection', 'close');
  for (const h of extraHeaders) headers.push(h);
  if (close) res.shouldKeepAlive = false;
  res.writeHead(PROXY_ERRORS[code].status, headers);
  res.end(body);
}

/** A complete raw HTTP/1.1 error response (for sockets outside a ServerResponse: parse errors, upgrades). */
export function rawErrorResponse(
  code: ProxyErrorCode,
  ctx: ErrorContext,
  extraHeaders: readonly string[] = [],
): string {
  const status = PROXY_ERRORS[code].status;
  const body = JSON.stringify(errorBody(code, ctx));
  let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n`;
  for (let i = 0; i < extraHeaders.length; i += 2) head += `${extraHeaders[i]}: ${extraHeaders[i + 1]}\r\n`;
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
