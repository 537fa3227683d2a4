import type { CircuitBreakers } from '../forward/breaker';
import { hasBody, refuse, refusalOf } from './answer';
import type { PipelineContext } from './context';
import type { Done, Exchange, Next, Policy } from './exchange';
import { verdictOf } from './failure';
import type { Recorder } from './record';

/** Whether the exchange goes to an upstream that a fallback stands behind (then breaker and fallback apply). */
export function guardedByBreaker(ex: Exchange): boolean {
  const fb = ex.decision.route?.fallback;
  return fb !== undefined && fb.upstream !== ex.decision.upstream;
}

/**
 * Circuit breaker and fallback, for routes with a fallback served by another upstream: while the upstream's
 * circuit is open, safe requests (GET/HEAD without body) go to the fallback and others are refused with 503 and
 * `Retry-After`; a safe request that fails before anything was sent to the client (see `failure.ts`) is answered
 * by the fallback. Every exchange's verdict feeds the breaker.
 */
export function breakerFallback(ctx: PipelineContext, breakers: CircuitBreakers, recorder: Recorder): Policy {
  /** Sends the exchange to the route's fallback instead (fresh timing, its own headers). */
  const toFallback = (ex: Exchange, reason: string, next: Next, done: Done): void => {
    const fb = ex.decision.route!.fallback!;
    recorder.fallback(ex, fb.upstream.name, reason);
    const fallbackEx: Exchange = {
      ...ex,
      decision: { ...ex.decision, upstream: fb.upstream },
      arrivedAt: performance.now(),
      cdcReason: undefined,
      fallbackReason: reason,
      forward: {},
    };
    next(fallbackEx, done);
  };

  return (ex, next, done) => {
    if (!guardedByBreaker(ex)) return next(ex, done);
    const { req, decision } = ex;
    const fb = decision.route!.fallback!;
    const breaker = breakers.get(decision.upstream.name, decision.upstream.breaker);
    const safe = (req.method === 'GET' || req.method === 'HEAD') && !hasBody(req);
    const admission = breaker.admit();
    if (admission === 'refuse') {
      if (safe) return toFallback(ex, 'circuit-open', next, done);
      recorder.exchange(ex, true);
      const reason = `circuit of "${decision.upstream.name}" is open`;
      refuse(
        ctx,
        refusalOf(ex, 'PROXY_ERR_CIRCUIT_OPEN', reason, ['retry-after', String(breaker.retryAfterSeconds())]),
      );
      return done({ status: 503, clientAborted: false, refused: true }); // never forwarded: nothing written
    }
    const probe = admission === 'probe';
    if (safe) ex.forward.fallbackStatuses = fb.statuses;
    else ex.forward.retryAfterSeconds = breaker.retryAfterSeconds();
    next(ex, (outcome) => {
      const verdict = verdictOf(outcome, fb.statuses);
      if (verdict === 'abandoned') breaker.release(probe);
      else if (verdict === 'failure') breaker.failure();
      else breaker.success();
      if (outcome.fallback !== undefined) return toFallback(ex, outcome.fallback, next, done);
      done(outcome);
    });
  };
}
