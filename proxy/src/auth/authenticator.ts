import type { CompiledAuth } from '../table/compile/auth';
import { ANONYMOUS, bearerTokenOf, judgeClaims, type Verdict } from './verdict';
import type { TokenVerifier } from './verifier';

/** Checks the credentials of requests on routes with `auth`. */
export interface Authenticator {
  /**
   * The verdict for a request's raw headers on a route: synchronous when it needs no verification (no token, a bad
   * `Authorization` field, a token verified before), else a promise (never rejecting).
   */
  check(rawHeaders: readonly string[], auth: CompiledAuth): Verdict | Promise<Verdict>;
}

/** Without PROXY_OIDC_ISSUER: a route requiring authentication is refused (500, named), an optional one is anonymous. */
export const NO_AUTHENTICATOR: Authenticator = {
  check: (_raw, auth) =>
    auth.required
      ? { ok: false, code: 'PROXY_ERR_AUTH_NOT_CONFIGURED', reason: 'no issuer is configured (PROXY_OIDC_ISSUER)' }
      : ANONYMOUS,
};

/** The authenticator over a {@link TokenVerifier}; routes without their own audiences accept `defaultAudience`. */
export function bearerAuthenticator(verifier: TokenVerifier, defaultAudience: string): Authenticator {
  return {
    check(rawHeaders, auth) {
      const found = bearerTokenOf(rawHeaders);
      if ('none' in found) {
        return auth.required
          ? { ok: false, code: 'PROXY_ERR_AUTH_REQUIRED', reason: 'no bearer token was sent' }
          : ANONYMOUS;
      }
      if ('problem' in found) return { ok: false, code: 'PROXY_ERR_INVALID_TOKEN', reason: found.problem };
      const hit = verifier.cached(found.token);
      if (hit) return judgeClaims(hit, auth, defaultAudience);
      return verifier
        .verify(found.token)
        .then((r) =>
          'claims' in r
            ? judgeClaims(r.claims, auth, defaultAudience)
            : { ok: false, code: 'PROXY_ERR_INVALID_TOKEN', reason: r.refused },
        );
    },
  };
}
