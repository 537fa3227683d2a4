import { errorCatalog } from '@warmhouse/shared';

/**
 * Every error the monitor's HTTP API answers, with its status and problem title. Each is answered as RFC 9457
 * problem details (`application/problem+json`) through the shared helper; docs/errors.md is generated from this.
 */
export const MONITOR_ERRORS = {
  /** No admin token, no session (or an expired or invalid one); `signIn` names the sign-in page when it helps. */
  CDC_MONITOR_UNAUTHORIZED: {
    status: 401,
    retriable: false,
    title: 'not signed in, or a missing or wrong bearer token',
  },
  /** A person's role does not allow the request (`required` names the roles that would). */
  CDC_MONITOR_FORBIDDEN: { status: 403, retriable: false, title: 'the role does not allow this request' },
  /** No such endpoint. */
  CDC_MONITOR_NOT_FOUND: { status: 404, retriable: false, title: 'no such endpoint' },
  /** The drift check is off: no service copy is configured (CDC_MONITOR_SERVICES). */
  CDC_MONITOR_DRIFT_OFF: { status: 404, retriable: false, title: 'drift check not configured' },
  /** The drift check's `from` or `to` is not a non-negative integer id. */
  CDC_MONITOR_BAD_RANGE: { status: 400, retriable: false, title: 'invalid id range' },
  /** The drift check could not read one of the copies. */
  CDC_MONITOR_DRIFT_FAILED: { status: 502, retriable: true, title: 'drift check failed' },
  /** A connector restart names a connector the monitor does not watch. */
  CDC_MONITOR_UNKNOWN_CONNECTOR: { status: 404, retriable: false, title: 'connector not watched' },
  /** A connector restart without a reason (the audit log needs one). */
  CDC_MONITOR_REASON_REQUIRED: { status: 400, retriable: false, title: 'a reason is required' },
  /** The dashboard's route change is not valid (no reason, nothing to change, a field of the wrong type). */
  CDC_MONITOR_INVALID_ROUTE_CHANGE: { status: 400, retriable: false, title: 'Invalid route change' },
  /** The proxy's audit log could not be read (the proxy's admin API unreachable or refusing). */
  CDC_MONITOR_PROXY_AUDIT_UNAVAILABLE: { status: 502, retriable: true, title: 'Proxy audit log unavailable' },
  /**
   * The proxy did not make the dashboard's change: its 4xx about the change is relayed with its status, anything else
   * (unreachable, 5xx, the monitor's PROXY_ADMIN_TOKEN refused) is 502; `proxyStatus` and `proxy` carry its answer.
   */
  CDC_MONITOR_PROXY_REFUSED: { status: 502, retriable: false, title: 'The proxy refused the change' },
  /** The proxy refused the signed-in person's own token (expired, revoked, another audience): sign in again. */
  CDC_MONITOR_PROXY_SIGN_IN_REFUSED: { status: 401, retriable: false, title: 'The proxy refused your sign-in' },
  /** The proxy refused the signed-in person's change: their token lacks the role there. */
  CDC_MONITOR_PROXY_ROLE_REFUSED: { status: 403, retriable: false, title: 'The proxy refused your change' },
  /** A bug in the monitor. */
  CDC_MONITOR_INTERNAL: { status: 500, retriable: false, title: 'internal error' },
} as const;

/** One of the codes in {@link MONITOR_ERRORS}. */
export type MonitorErrorCode = keyof typeof MONITOR_ERRORS;

/** The monitor's catalog: its problem bodies. */
export const monitorErrors = errorCatalog(MONITOR_ERRORS);
