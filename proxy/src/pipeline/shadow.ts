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
        ? shadower.begin({
            routeId: ex.decision.routeId,
            shadow: route.shadow,
            target: route.upstream,
            req: ex.req,
            path: ex.decision.target,
            requestId: ex.requestId,
            own: ex.own,
          })
        : undefined;
    if (copy === undefined) return next(ex, done);
    ex.forward.tap = copy.tap;
    next(ex, (outcome) => {
      copy.done(outcome.error === undefined && !outcome.clientAborted);
      done(outcome);
    });
  };
}
