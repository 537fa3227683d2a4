import type { ResolvedContext } from './config';
import { ContractError } from './errors';

/** One request and the raw answer to it: the bytes matter, not only the parsed JSON. */
export interface Exchange {
  readonly method: string;
  /** path and query as sent, relative to the base URL, e.g. `/api/heating/1/set-temperature?temperature=22.5` */
  readonly target: string;
  readonly requestBody?: string;
  readonly status: number;
  readonly headers: Headers;
  readonly bytes: Buffer;
  /** the body decoded as UTF-8 */
  readonly text: string;
}

export interface RequestOptions {
  /** sent as-is; `Content-Type` defaults to `application/json` when a body is given */
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

/** `fetch failed: connect ECONNREFUSED 127.0.0.1:1`; duck-typed, since fetch's errors may come from another realm. */
function describeFailure(err: unknown): string {
  const { message, cause } = (err ?? {}) as { message?: unknown; cause?: { message?: unknown } };
  const own = typeof message === 'string' ? message : String(err);
  return typeof cause?.message === 'string' ? `${own}: ${cause.message}` : own;
}

/** Sends one request with `redirect: 'manual'` (a redirect is an answer too) and reads the whole body. */
export async function send(
  ctx: ResolvedContext,
  method: string,
  target: string,
  { body, headers = {} }: RequestOptions = {},
): Promise<Exchange> {
  const requestHeaders: Record<string, string> = { ...headers };
  if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
    requestHeaders['Content-Type'] = 'application/json';
  }
  let response: Response;
  let bytes: Buffer;
  try {
    response = await ctx.fetch(`${ctx.baseUrl}${target}`, {
      method,
      headers: requestHeaders,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(ctx.timeoutMs),
    });
    bytes = Buffer.from(await response.arrayBuffer());
  } catch (err) {
    const reason = describeFailure(err);
    throw new ContractError('CONTRACT_ERR_UNREACHABLE', `${method} ${ctx.baseUrl}${target} got no answer: ${reason}`, {
      cause: err,
    });
  }
  return {
    method,
    target,
    requestBody: body,
    status: response.status,
    headers: response.headers,
    bytes,
    text: bytes.toString('utf8'),
  };
}

/** The request path without its query: what Spring puts in an error body's `path`. */
export const pathOf = (exchange: Exchange): string => exchange.target.split('?')[0] ?? exchange.target;

const clip = (text: string, max = 400) => (text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text);

/** `PUT /api/heating/1 {"on":true}  →  500 application/json {"timestamp":…}`, for failure messages. */
export function describeExchange(exchange: Exchange): string {
  const request = `${exchange.method} ${exchange.target}${exchange.requestBody !== undefined ? ` ${clip(exchange.requestBody)}` : ''}`;
  const type = exchange.headers.get('content-type') ?? '(no Content-Type)';
  const body = exchange.bytes.length === 0 ? '(empty body)' : clip(exchange.text);
  return `${request}  →  ${exchange.status} ${type} ${body}`;
}
