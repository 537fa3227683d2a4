import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { ProxyErrorCode, ProxyStage } from '../errors';
import type { CompiledUpstream } from '../table/compile';
import { upstreamRequestHeaders, type OwnHeaders } from './headers';
import { rawErrorResponse } from './respond';

/** One upgrade request (WebSocket, h2c...) to pass through. */
export interface UpgradeJob {
  readonly req: IncomingMessage;
  readonly socket: Duplex;
  readonly head: Buffer;
  readonly routeId: string;
  readonly upstream: CompiledUpstream;
  readonly target: string;
  readonly requestId: string;
  /** Added to the proxy's own error responses. */
  readonly responseHeaders: readonly string[];
  /** The proxy's own request fields (whether the client's `X-Strangler-*` pass, what the proxy sets). */
  readonly own: OwnHeaders;
}

/** How an upgrade ended: the upstream's status (101 when switched) or the proxy's error. */
export interface UpgradeOutcome {
  readonly status: number;
  readonly error?: { readonly code: ProxyErrorCode; readonly stage: ProxyStage; readonly cause?: unknown };
}

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})/;

/**
 * Passes an upgrade through at the byte level: opens a fresh connection to the upstream (upgraded
 * connections are never pooled), writes the request head with hop-by-hop fields replaced by
 * `Connection: Upgrade` + `Upgrade`, then pipes both ways. Whatever the upstream answers (101 or a
 * refusal) reaches the client unchanged. Connect and response-head timeouts answer 504, refusals 502.
 * Returns the upstream socket so the caller can destroy it on shutdown.
 */
export function forwardUpgrade(job: UpgradeJob, done: (outcome: UpgradeOutcome) => void): Duplex {
  const { req, socket: client, upstream } = job;
  const url = new URL(upstream.origin);
  const secure = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port) || (secure ? 443 : 80);
  const up: net.Socket = secure
    ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host })
    : net.connect({ host, port });
  let settled = false;
  let connected = false;

  const fail = (code: ProxyErrorCode, stage: ProxyStage, cause?: unknown): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    up.destroy();
    if (client.writable && !connected) {
      client.end(
        rawErrorResponse(
          code,
          { route: job.routeId, upstream: upstream.name, stage, requestId: job.requestId },
          job.responseHeaders,
        ),
      );
    } else client.destroy();
    done({ status: code === 'PROXY_ERR_UPSTREAM_TIMEOUT' ? 504 : 502, error: { code, stage, cause } });
  };

  let timer = setTimeout(() => fail('PROXY_ERR_UPSTREAM_TIMEOUT', 'connect'), upstream.timeouts.connectMs);
  up.once(secure ? 'secureConnect' : 'connect', () => {
    clearTimeout(timer);
    timer = setTimeout(() => fail('PROXY_ERR_UPSTREAM_TIMEOUT', 'response-headers'), upstream.timeouts.headersMs);
    const headers = upstreamRequestHeaders(req, upstream.host, job.requestId, job.own, true);
    let head = `${req.method} ${job.target} HTTP/1.1\r\n`;
    for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    up.write(`${head}\r\n`, 'latin1');
    if (job.head.length > 0) up.write(job.head);
    up.once('data', (first: Buffer) => {
      clearTimeout(timer);
      connected = true;
      settled = true;
      const status = Number(STATUS_LINE.exec(first.toString('latin1', 0, 16))?.[1] ?? 0);
      done({ status });
    });
    up.pipe(client);
    client.pipe(up);
  });
  up.on('error', (err) => (connected ? client.destroy() : fail('PROXY_ERR_UPSTREAM_UNREACHABLE', 'upgrade', err)));
  up.on('close', () => {
    if (!settled) fail('PROXY_ERR_UPSTREAM_UNREACHABLE', 'upgrade');
    else client.end();
  });
  client.on('error', () => up.destroy());
  client.on('close', () => up.destroy());
  return up;
}
