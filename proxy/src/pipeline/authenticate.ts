import { challengeOf, ownWithIdentity, type Verdict } from '../auth/verdict';
import { PROXY_ERRORS } from '../errors';
import { refuse, refusalOf } from './answer';
import type { PipelineContext } from './context';
import type { Done, Exchange, Next, Policy } from './exchange';

/**
 * Authentication, first of the policies: on a route with `auth`, the bearer token is verified (or found missing)
 * before anything else happens; a refusal answers 401/403 with `WWW-Authenticate` and contacts no upstream. A
 * request that passes carries the verified identity in the proxy's own fields, its token no longer forwarded.
 */
export function authentication(ctx: PipelineContext): Policy {
  const settle = (ex: Exchange, verdict: Verdict, next: Next, done: Done): void => {
    if (ex.res.destroyed) return done({ status: 400, clientAborted: true, refused: true });
    if (!verdict.ok) {
      refuse(ctx, refusalOf(ex, verdict.code, verdict.reason, ['www-authenticate', challengeOf(verdict)]));
      return done({ status: PROXY_ERRORS[verdict.code].status, clientAborted: false, refused: true });
    }
    ex.own = ownWithIdentity(ex.own, verdict.claims);
    next(ex, done);
  };
  return (ex, next, done) => {
    const auth = ex.decision.route?.auth;
    if (auth === undefined) return next(ex, done);
    const verdict = ctx.authenticator.check(ex.req.rawHeaders, auth);
    if (verdict instanceof Promise) void verdict.then((v) => settle(ex, v, next, done));
    else settle(ex, verdict, next, done);
  };
}
