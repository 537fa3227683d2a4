import { CodedError, problemOf, type Problem } from '@warmhouse/shared';

/**
 * Every error the proxy can report, with its HTTP status and whether trying again can help.
 * Codes (not classes) are the contract: clients, logs and metrics compare `code`. `message` is the problem's `title`
 * (and its `detail` when nothing more precise is known); docs/errors.md is generated from this registry.
 */
export const PROXY_ERRORS = {
  /** The request line, a header or the body framing could not be parsed (llhttp rejected it). */
  PROXY_ERR_MALFORMED_REQUEST: { status: 400, retriable: false, message: 'malformed HTTP request' },
  /** Content-Length and Transfer-Encoding disagree, or one of them is invalid (request smuggling guard). */
  PROXY_ERR_BAD_FRAMING: { status: 400, retriable: false, message: 'conflicting or invalid message framing' },
  /** The request target is ambiguous (dot segments, encoded slash, empty segment...) and is refused. */
  PROXY_ERR_AMBIGUOUS_PATH: { status: 400, retriable: false, message: 'ambiguous request path' },
  /** The request target is not origin-form or absolute-form (e.g. `OPTIONS *`). */
  PROXY_ERR_UNSUPPORTED_TARGET: { status: 400, retriable: false, message: 'unsupported request target' },
  /** The request head (request line plus headers) exceeds the configured size. */
  PROXY_ERR_HEADERS_TOO_LARGE: { status: 431, retriable: false, message: 'request header fields too large' },
  /** The request body exceeds the configured limit. */
  PROXY_ERR_BODY_TOO_LARGE: { status: 413, retriable: false, message: 'request body too large' },
  /** The client stopped sending its body or went away; logged, usually never answered. */
  PROXY_ERR_CLIENT_ABORTED: { status: 400, retriable: false, message: 'client aborted the request' },
  /** The client took too long to send its request head or body. */
  PROXY_ERR_CLIENT_TIMEOUT: { status: 408, retriable: true, message: 'request timeout' },
  /** Method not handled by a reverse proxy (CONNECT). */
  PROXY_ERR_METHOD_NOT_ALLOWED: { status: 405, retriable: false, message: 'method not allowed through this proxy' },
  /** The route is switched to mode `unavailable` (e.g. during a data cut-over). */
  PROXY_ERR_ROUTE_UNAVAILABLE: { status: 503, retriable: true, message: 'route temporarily unavailable' },
  /** The route's upstream has its circuit open and the request is mutating (never sent to another target). */
  PROXY_ERR_CIRCUIT_OPEN: { status: 503, retriable: true, message: 'upstream circuit open' },
  /** The upstream refused or dropped the connection before answering. */
  PROXY_ERR_UPSTREAM_UNREACHABLE: { status: 502, retriable: true, message: 'upstream unreachable' },
  /** The upstream answered with something that is not valid HTTP (or headers too large). */
  PROXY_ERR_UPSTREAM_BAD_RESPONSE: { status: 502, retriable: true, message: 'invalid response from upstream' },
  /** Connecting to the upstream, or waiting for its response headers, timed out. */
  PROXY_ERR_UPSTREAM_TIMEOUT: { status: 504, retriable: true, message: 'upstream timed out' },
  /** A route table (file, persisted state or admin input) failed validation. */
  PROXY_ERR_INVALID_TABLE: { status: 400, retriable: false, message: 'invalid route table' },
  /** The route table file could not be read or parsed. */
  PROXY_ERR_TABLE_UNREADABLE: { status: 500, retriable: false, message: 'route table file unreadable' },
  /** Persisting the table or appending to the audit log failed; the change was not applied. */
  PROXY_ERR_STATE_WRITE_FAILED: { status: 500, retriable: true, message: 'could not persist route table state' },
  /** Admin API: the change was based on a table version that is no longer the newest (If-Match / expectedVersion). */
  PROXY_ERR_VERSION_CONFLICT: {
    status: 409,
    retriable: false,
    message: 'the route table changed since the version the change was based on',
  },
  /** Admin API: the control store cannot be reached, so no change can be made durable; traffic is unaffected. */
  PROXY_ERR_CONTROL_STORE_UNAVAILABLE: {
    status: 503,
    retriable: true,
    message: 'the control store cannot be reached; the proxy keeps serving its last table',
  },
  /** The plan runner lost its lease before its change was stored (another process runs the plans now). */
  PROXY_ERR_PLAN_LEASE_LOST: { status: 409, retriable: false, message: 'the plan lease is no longer held' },
  /** Admin API: no route with that id. */
  PROXY_ERR_ROUTE_NOT_FOUND: { status: 404, retriable: false, message: 'route not found' },
  /** Admin API: the request body is not valid. */
  PROXY_ERR_INVALID_ADMIN_REQUEST: { status: 400, retriable: false, message: 'invalid admin request' },
  /** Admin API: missing or wrong bearer token. */
  PROXY_ERR_UNAUTHORIZED: { status: 401, retriable: false, message: 'missing or invalid bearer token' },
  /**
   * Admin API: a person's token was verified but lacks the role the request needs (`strangler:viewer` to read,
   * `strangler:operator` to change); `WWW-Authenticate: Bearer error="insufficient_scope"` says which.
   */
  PROXY_ERR_ADMIN_FORBIDDEN: { status: 403, retriable: false, message: 'the token lacks the role this request needs' },
  /** Admin API would start without a token and without the explicit insecure-dev flag. */
  PROXY_ERR_ADMIN_TOKEN_MISSING: {
    status: 500,
    retriable: false,
    message: 'PROXY_ADMIN_TOKEN is not set (set PROXY_INSECURE_DEV_ADMIN=true to run the admin API without a token)',
  },
  /** A route with `auth.required` got a request without a bearer token (`WWW-Authenticate` says so). */
  PROXY_ERR_AUTH_REQUIRED: { status: 401, retriable: false, message: 'a bearer token is required' },
  /**
   * The bearer token was refused: malformed, unsigned or wrongly signed, expired or not yet valid, another issuer
   * or audience, an unknown signing key (or the issuer's keys unreachable). `WWW-Authenticate: Bearer
   * error="invalid_token"` carries the reason; nothing was sent upstream.
   */
  PROXY_ERR_INVALID_TOKEN: { status: 401, retriable: false, message: 'invalid bearer token' },
  /** The token is valid but lacks a scope the route requires (`WWW-Authenticate` names the scopes). */
  PROXY_ERR_INSUFFICIENT_SCOPE: { status: 403, retriable: false, message: 'the token lacks a required scope' },
  /** A route requires authentication but the proxy has no issuer configured (PROXY_OIDC_ISSUER). */
  PROXY_ERR_AUTH_NOT_CONFIGURED: {
    status: 500,
    retriable: false,
    message: 'the route requires authentication but PROXY_OIDC_ISSUER is not set',
  },
  /** Anything else: a bug in the proxy. */
  PROXY_ERR_INTERNAL: { status: 500, retriable: false, message: 'internal proxy error' },
} as const satisfies Record<string, { status: number; retriable: boolean; message: string }>;

/** One of the codes in {@link PROXY_ERRORS}. */
export type ProxyErrorCode = keyof typeof PROXY_ERRORS;

/** Which step of forwarding failed (after YARP's ForwarderError stages). */
export type ProxyStage =
  'route' | 'request' | 'connect' | 'response-headers' | 'response-body' | 'client-body' | 'upgrade';

/** A coded proxy error; `details` carries `routeId`, `upstream` and `stage` where they are known. */
export class ProxyError extends CodedError {
  constructor(
    readonly proxyCode: ProxyErrorCode,
    options: { message?: string; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    const spec = PROXY_ERRORS[proxyCode];
    super(proxyCode, options.message ?? spec.message, {
      status: spec.status,
      retriable: spec.retriable,
      cause: options.cause,
      details: options.details,
    });
    this.name = 'ProxyError';
  }
}

/** What the proxy's own problems carry besides the standard members (extension members, at the top level). */
export interface ProxyProblemExtras {
  route?: string;
  upstream?: string;
  stage?: ProxyStage;
}

/**
 * Body of every error the proxy writes itself (client port and admin port alike): RFC 9457 problem details
 * (`application/problem+json`) with the code, plus `route`, `upstream`, `stage` and the error's details (`issues`,
 * `currentVersion`, `required`, …) as extension members.
 */
export type ProxyProblem = Problem<ProxyErrorCode> & ProxyProblemExtras & Record<string, unknown>;

/**
 * Builds the problem body of a code through the shared helper: `message` is the detail (default: the code's message);
 * `route`, `upstream`, `stage` and the members of `details` become extension members.
 */
export function problemBody(
  code: ProxyErrorCode,
  extra: ProxyProblemExtras & { message?: string; requestId?: string; details?: unknown } = {},
): ProxyProblem {
  const spec = PROXY_ERRORS[code];
  const details = typeof extra.details === 'object' && extra.details !== null ? extra.details : {};
  return problemOf(
    code,
    { status: spec.status, retriable: spec.retriable, title: spec.message },
    extra.message ?? spec.message,
    {
      requestId: extra.requestId,
      extensions: { route: extra.route, upstream: extra.upstream, stage: extra.stage, ...details },
    },
  ) as ProxyProblem;
}
