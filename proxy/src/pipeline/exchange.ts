import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PreparedPins } from '../cdc/cdc-reads';
import type { ForwardOutcome, Tap } from '../forward/forwarder';
import type { OwnHeaders } from '../forward/headers';
import type { Decision } from '../routing/decide';

/** A decision to forward (the table found an upstream for the request). */
export type ForwardDecision = Extract<Decision, { action: 'forward' }>;

/** How the upstream exchange is to be forwarded, as the policies set it up. */
export interface ForwardPolicy {
  /** Failures answered by the fallback instead of the client (see `ForwardJob.fallbackStatuses`). */
  fallbackStatuses?: ReadonlySet<number>;
  /** `Retry-After` of the proxy's own error answers. */
  retryAfterSeconds?: number;
  /** Observer of the exchange (shadow comparison). */
  tap?: Tap;
}

/**
 * One client request on its way through the pipeline: what arrived, what was decided, and what the policies
 * added on the way (a rerouted upstream, response headers, forwarding settings). Policies may change `decision`,
 * `headers` and `forward` before they pass the exchange on; nothing else is shared between them.
 */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The client sent `Expect: 100-continue`. */
  readonly expectContinue: boolean;
  /** `performance.now()` when the request arrived. */
  readonly arrivedAt: number;
  readonly requestId: string;
  /** The route and upstream that serve the request (the CDC policy may reroute a read to the source). */
  decision: ForwardDecision;
  /** What the fleet's shared pins said (CDC-aware routes with a control store). */
  pins?: PreparedPins;
  /** Why a CDC-aware read was sent to the source (`X-Strangler-Cdc`). */
  cdcReason?: string;
  /** Why this exchange goes to the route's fallback (`X-Strangler-Fallback`). */
  fallbackReason?: string;
  /** Forwarding settings added by the policies. */
  forward: ForwardPolicy;
  /** The proxy's own request fields: whether the client's `X-Strangler-*` pass, what the proxy sets (identity). */
  own: OwnHeaders;
}

/**
 * Reports how the exchange ended: forwarded (a `fallback` outcome has not been answered yet), or answered by a
 * policy itself (then `refused` is set and nothing was sent upstream).
 */
export type Done = (outcome: ForwardOutcome & { readonly refused?: boolean }) => void;

/** The rest of the pipeline: forwards the exchange and reports how it ended. */
export type Next = (ex: Exchange, done: Done) => void;

/**
 * One policy of the pipeline (the way undici composes interceptors): it may answer the request itself (and report
 * that to `done`), or change the exchange and call `next`, seeing the outcome before it passes it to `done`.
 */
export type Policy = (ex: Exchange, next: Next, done: Done) => void;

/** The policies in order, ending in `last` (the forwarder). */
export function compose(policies: readonly Policy[], last: Next): Next {
  return policies.reduceRight<Next>((next, policy) => (ex, done) => policy(ex, next, done), last);
}
