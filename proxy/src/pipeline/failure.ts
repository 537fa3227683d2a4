import { PROXY_ERRORS, type ProxyErrorCode } from '../errors';

/**
 * What counts as a failure of an upstream — the one definition the fallback, the circuit breaker and the route
 * statistics (and so the plans' error-rate gates) use:
 * - an answer with status 5xx, or with one of `fallbackStatuses` (the fallback and the breaker of a route with a
 *   fallback pass the route's; the statistics pass none: there only 5xx counts);
 * - the proxy failing the exchange with a 5xx of its own (connect error, timeout, broken response). A 4xx of the
 *   proxy's own (e.g. 413 body too large) is the client's fault, not the upstream's;
 * - a client that went away is neither failure nor success.
 */
export function failedStatus(status: number, fallbackStatuses?: ReadonlySet<number>): boolean {
  return status >= 500 || (fallbackStatuses?.has(status) ?? false);
}

/** The verdict on one forwarded exchange (see {@link failedStatus}). */
export type Verdict = 'failure' | 'success' | 'abandoned';

/** What the verdict reads of an exchange's outcome (the forwarder's `ForwardOutcome`). */
export interface OutcomeFacts {
  readonly status: number;
  readonly error?: { readonly code: ProxyErrorCode };
  readonly clientAborted: boolean;
  readonly fallback?: string;
}

export function verdictOf(outcome: OutcomeFacts, fallbackStatuses?: ReadonlySet<number>): Verdict {
  if (outcome.fallback !== undefined) return 'failure';
  if (outcome.clientAborted) return 'abandoned';
  if (outcome.error !== undefined) return PROXY_ERRORS[outcome.error.code].status >= 500 ? 'failure' : 'success';
  return failedStatus(outcome.status, fallbackStatuses) ? 'failure' : 'success';
}
