import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { ProxyError, type ProxyErrorCode, type ProxyStage } from '../errors';
import { failedStatus } from '../pipeline/failure';
import type { CompiledUpstream } from '../table/compile';
import { clientResponseHeaders, trailerObject, upstreamRequestHeaders, type OwnHeaders } from './headers';
import type { UpstreamPools } from './pools';
import { RequestBody } from './request-body';
import { sendError } from './respond';
import { classifyUpstreamError } from './upstream-errors';

/** One request to forward, with everything decided beforehand. */
export interface ForwardJob {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly routeId: string;
  readonly upstream: CompiledUpstream;
  /** Request target to send (path and query as received). */
  readonly target: string;
  readonly requestId: string;
  readonly maxBodyBytes: number;
  /** Headers added to the client response (`X-Request-Id`, decision headers), flat. */
  readonly responseHeaders: readonly string[];
  /**
   * `performance.now()` when the request arrived; when set, the response carries `X-Strangler-Proxy-Latency`:
   * milliseconds spent in the proxy itself (before dispatch, and between the upstream's response head and ours).
   */
  readonly arrivedAt?: number;
  /**
   * When set (safe request without body on a route with a fallback), a failure before anything was sent to
   * the client — connect error, timeout, 5xx or one of these statuses — is not answered: the outcome carries
   * `fallback` and the caller answers from the fallback upstream.
   */
  readonly fallbackStatuses?: ReadonlySet<number>;
  /** Added as `Retry-After` to the proxy's own error answers (mutating requests on routes with a fallback). */
  readonly retryAfterSeconds?: number;
  /** Sees the request body and the upstream's response as they stream through (shadow comparison). */
  readonly tap?: Tap;
  /** The proxy's own request fields (default: every client `X-Strangler-*` field removed, nothing added). */
  readonly own?: OwnHeaders;
}

/** Observer of one exchange; must not throw and must not hold on to the stream. */
export interface Tap {
  requestChunk(chunk: Buffer): void;
  responseHead(status: number, rawHeaders: readonly Buffer[]): void;
  responseChunk(chunk: Buffer): void;
}

/** Response header with the time spent in the proxy itself, in milliseconds. */
export const PROXY_LATENCY_HEADER = 'x-strangler-proxy-latency';

/** Milliseconds as sent in {@link PROXY_LATENCY_HEADER}: three decimals. */
export function formatLatency(ms: number): string {
  return Math.max(0, ms).toFixed(3);
}

/** How a forwarded request ended. */
export interface ForwardOutcome {
  readonly status: number;
  /** Set when the proxy (not the upstream) failed the request. */
  readonly error?: { readonly code: ProxyErrorCode; readonly stage: ProxyStage; readonly cause: unknown };
  /** The client went away before the response was complete. */
  readonly clientAborted: boolean;
  /** Nothing was sent to the client; answer from the fallback upstream (the reason: `status 503`, an error code). */
  readonly fallback?: string;
}

/**
 * Relays one upstream exchange (undici's dispatch handler, called natively by its Client: raw header
 * buffers, no re-parsing): streams the response to the client with backpressure, maps failures to
 * 502/504/413 JSON while nothing was sent yet, and cuts the client connection when the response breaks
 * mid-body (so a truncated body is never taken for a complete one).
 */
class Relay implements Dispatcher.DispatchHandler {
  private abortUpstream: ((err?: Error) => void) | undefined;
  private resumeUpstream: (() => void) | undefined;
  private finished = false;
  private clientGone = false;
  /** `performance.now()` when the request was handed to the upstream pool. */
  dispatchedAt = 0;
  /** Set when the upstream's answer is a failure to be replaced by the fallback's (its body is drained). */
  private fallingBack: string | undefined;

  constructor(
    private readonly job: ForwardJob,
    private readonly body: RequestBody | null,
    private readonly done: (outcome: ForwardOutcome) => void,
  ) {
    job.res.once('close', this.onClientClose);
  }

  private readonly onClientClose = (): void => {
    if (this.finished || this.job.res.writableFinished) return;
    this.clientGone = true;
    this.abortUpstream?.(new ProxyError('PROXY_ERR_CLIENT_ABORTED', { details: { stage: 'response-body' } }));
  };

  private readonly onDrain = (): void => {
    this.resumeUpstream?.();
  };

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.clientGone) abort(new ProxyError('PROXY_ERR_CLIENT_ABORTED', { details: { stage: 'request' } }));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true;
    this.resumeUpstream = resume;
    const fb = this.job.fallbackStatuses;
    if (fb && !this.clientGone && failedStatus(statusCode, fb)) {
      this.fallingBack = `status ${statusCode}`;
      return true;
    }
    this.job.tap?.responseHead(statusCode, rawHeaders);
    const res = this.job.res;
    const headAt = performance.now();
    try {
      const headers = clientResponseHeaders(rawHeaders, this.job.responseHeaders);
      if (this.job.arrivedAt !== undefined) {
        const ms = this.dispatchedAt - this.job.arrivedAt + (performance.now() - headAt);
        headers.push(PROXY_LATENCY_HEADER, formatLatency(ms));
      }
      if (statusText) res.writeHead(statusCode, statusText, headers);
      else res.writeHead(statusCode, headers);
    } catch (err) {
      this.abortUpstream?.(
        new ProxyError('PROXY_ERR_UPSTREAM_BAD_RESPONSE', { cause: err, details: { stage: 'response-headers' } }),
      );
      return false;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.fallingBack !== undefined) return true;
    this.job.tap?.responseChunk(chunk);
    if (this.job.res.write(chunk)) return true;
    this.job.res.once('drain', this.onDrain);
    return false;
  }

  onComplete(trailers: string[] | null): void {
    if (this.fallingBack !== undefined) {
      this.finish({ status: 502, clientAborted: false, fallback: this.fallingBack });
      return;
    }
    const t = trailerObject(trailers);
    if (t) this.job.res.addTrailers(t);
    this.job.res.end();
    this.finish({ status: this.job.res.statusCode, clientAborted: false });
  }

  onError(err: Error): void {
    const { res, req } = this.job;
    const { code, stage } = classifyUpstreamError(err, res.headersSent);
    const clientAborted = this.clientGone || code === 'PROXY_ERR_CLIENT_ABORTED';
    if (this.job.fallbackStatuses && !clientAborted && !res.headersSent && !res.destroyed) {
      this.finish({ status: 502, clientAborted: false, fallback: this.fallingBack ?? code });
      return;
    }
    const extra =
      this.job.retryAfterSeconds === undefined
        ? this.job.responseHeaders
        : [...this.job.responseHeaders, 'retry-after', String(this.job.retryAfterSeconds)];
    if (!res.headersSent && !clientAborted && !res.destroyed) {
      sendError(
        res,
        code,
        { route: this.job.routeId, upstream: this.job.upstream.name, stage, requestId: this.job.requestId },
        this.job.arrivedAt === undefined ? extra : [...extra, PROXY_LATENCY_HEADER, formatLatency(this.proxyMs())],
        !req.complete,
      );
    } else if (!res.writableFinished) {
      res.destroy();
    }
    this.finish({
      status: res.headersSent && !clientAborted ? res.statusCode : 499,
      error: { code, stage, cause: err },
      clientAborted,
    });
  }

  /** Proxy time of a request that failed upstream: everything but the wait for the upstream. */
  private proxyMs(): number {
    const arrived = this.job.arrivedAt ?? 0;
    return this.dispatchedAt === 0 ? performance.now() - arrived : this.dispatchedAt - arrived;
  }

  private finish(outcome: ForwardOutcome): void {
    if (this.finished) return;
    this.finished = true;
    this.job.res.off('close', this.onClientClose);
    if (this.body && !this.body.destroyed) this.body.destroy();
    this.done(outcome);
  }
}

/** The client body as a stream for undici, or `null` when the request has none. */
function requestBody(req: IncomingMessage, limit: number, tap: Tap | undefined): RequestBody | null {
  const te = req.headers['transfer-encoding'];
  const cl = req.headers['content-length'];
  if (te === undefined && (cl === undefined || cl === '0')) return null;
  return new RequestBody(req, limit, tap && ((c) => tap.requestChunk(c)));
}

/**
 * Forwards a request to its upstream through that upstream's keep-alive pool, streaming both bodies.
 * Calls `done` exactly once. The caller has already checked `Content-Length` against the limit.
 */
export function forward(pools: UpstreamPools, job: ForwardJob, done: (outcome: ForwardOutcome) => void): void {
  const { req, upstream } = job;
  const body = requestBody(req, job.maxBodyBytes, job.tap);
  const relay = new Relay(job, body, done);
  try {
    relay.dispatchedAt = performance.now();
    pools.get(upstream).dispatch(
      {
        path: job.target,
        method: req.method!,
        headers: upstreamRequestHeaders(req, upstream.host, job.requestId, job.own),
        body,
        headersTimeout: upstream.timeouts.headersMs,
        bodyTimeout: upstream.timeouts.bodyMs,
      },
      relay,
    );
  } catch (err) {
    relay.onError(err as Error);
  }
}
