import { ProxyError, type ProxyErrorCode, type ProxyStage } from '../errors';

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);

/** Maps an undici/socket error to a proxy error code and the forwarding stage it happened in. */
export function classifyUpstreamError(
  err: unknown,
  responseStarted: boolean,
): { code: ProxyErrorCode; stage: ProxyStage } {
  if (err instanceof ProxyError) {
    const stage =
      (err.options.details?.stage as ProxyStage | undefined) ?? (responseStarted ? 'response-body' : 'request');
    return { code: err.proxyCode, stage };
  }
  const code = (err as { code?: string } | null)?.code ?? '';
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return { code: 'PROXY_ERR_UPSTREAM_TIMEOUT', stage: 'connect' };
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return { code: 'PROXY_ERR_UPSTREAM_TIMEOUT', stage: 'response-headers' };
  if (code === 'UND_ERR_BODY_TIMEOUT') return { code: 'PROXY_ERR_UPSTREAM_TIMEOUT', stage: 'response-body' };
  if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED')
    return { code: 'PROXY_ERR_MALFORMED_REQUEST', stage: 'request' };
  if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') return { code: 'PROXY_ERR_BAD_FRAMING', stage: 'client-body' };
  if (UNREACHABLE.has(code)) {
    return {
      code: 'PROXY_ERR_UPSTREAM_UNREACHABLE',
      stage: responseStarted ? 'response-body' : code === 'ECONNREFUSED' ? 'connect' : 'request',
    };
  }
  return { code: 'PROXY_ERR_UPSTREAM_BAD_RESPONSE', stage: responseStarted ? 'response-body' : 'response-headers' };
}
