import { cdcError } from '../errors';

/** A response from the Kafka Connect REST API. */
export interface ConnectResponse {
  status: number;
  body: unknown;
}

/** Options of {@link connectRequest}. */
export interface ConnectRequestOptions {
  body?: unknown;
  /** statuses returned to the caller instead of raised (e.g. 404 for "no such connector yet") */
  accept?: readonly number[];
  /** per-request deadline, ms */
  timeoutMs?: number;
}

/**
 * One call to the Kafka Connect REST API. Raises `CDC_ERR_CONNECT_UNREACHABLE` (naming the URL) when nothing
 * answers, `CDC_ERR_CONNECT_REJECTED` with Connect's own message on a 4xx, and the retriable
 * `CDC_ERR_CONNECT_FAILED` on a 5xx or a 409 (the worker group is rebalancing).
 */
export async function connectRequest(
  connectUrl: string,
  method: 'GET' | 'PUT' | 'POST' | 'DELETE',
  path: string,
  { body, accept = [], timeoutMs = 10_000 }: ConnectRequestOptions = {},
): Promise<ConnectResponse> {
  const url = `${connectUrl.replace(/\/+$/, '')}${path}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw cdcError(
      'CDC_ERR_CONNECT_UNREACHABLE',
      `Kafka Connect at ${connectUrl} is not reachable: ${networkReason(err)}`,
      {
        cause: err,
        details: { connectUrl, method, path },
      },
    );
  }
  const text = await response.text();
  const parsed = parseBody(text);
  if (response.ok || accept.includes(response.status)) return { status: response.status, body: parsed };

  const connectMessage = messageOf(parsed) ?? (text.trim() || response.statusText);
  const details = { connectUrl, method, path, status: response.status, connectMessage };
  const what = `Kafka Connect at ${connectUrl} answered ${response.status} to ${method} ${path}: ${connectMessage}`;
  if (response.status === 409 || response.status >= 500) throw cdcError('CDC_ERR_CONNECT_FAILED', what, { details });
  throw cdcError('CDC_ERR_CONNECT_REJECTED', what, { details });
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Connect's error bodies are `{ "error_code": 400, "message": "…" }`. */
function messageOf(body: unknown): string | undefined {
  if (typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message;
  }
  return undefined;
}

type ErrorLike = { name?: unknown; message?: unknown; code?: unknown; cause?: unknown; errors?: unknown };

/**
 * undici hides the socket error in `cause` ("fetch failed" → "connect ECONNREFUSED 127.0.0.1:8083"; an
 * `AggregateError` with an empty message when several addresses were tried). Duck-typed: errors from another
 * realm (jest's sandbox) fail `instanceof Error`.
 */
function networkReason(err: unknown): string {
  const e = (err ?? {}) as ErrorLike;
  if (e.name === 'TimeoutError') return `no answer within the deadline (${String(e.message)})`;
  const cause = (e.cause ?? undefined) as ErrorLike | undefined;
  const first = Array.isArray(cause?.errors) ? (cause.errors[0] as ErrorLike | undefined) : undefined;
  for (const candidate of [cause?.message, first?.message, cause?.code, e.message]) {
    if (typeof candidate === 'string' && candidate !== '') return candidate;
  }
  return String(err);
}
