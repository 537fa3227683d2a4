import type { Shadower } from '../shadow/shadower';
import type { Exchange, Policy } from './exchange';
import { guardedByBreaker } from './breaker-fallback';

/**
 * Shadowing: on a route in mode `shadow`, the exchange with the baseline is observed and a copy goes to the
 * route's service; the two answers are compared once both ended. The client is answered by the baseline alone.
 */
export function shadowing(shadower: Shadower): Policy {
  return (ex: Exchange, next, done) => {
    const route = ex.decision.route;
    const copy =
      route?.shadow && !guardedByBreaker(ex)
        ? shadower.begin(ex.decision.routeId, route.shadow, route.upstream, ex.req, ex.decision.target, ex.requestId)
        : undefined;
    if (copy === undefined) return next(ex, done);
    ex.forward.tap = copy.tap;
    next(ex, (outcome) => {
      copy.done(outcome.error === undefined && !outcome.clientAborted);
      done(outcome);
    });
  };
}
