import type { RouteSpec } from '../schema';

/** A route's authentication, ready for the request path. */
export interface CompiledAuth {
  /** Anonymous requests are refused (401). */
  readonly required: boolean;
  /** Accepted `aud` values; `undefined`: the proxy's PROXY_OIDC_AUDIENCE. */
  readonly audiences: readonly string[] | undefined;
  /** Scopes the token must all carry. */
  readonly scopes: readonly string[];
}

/** Compiles a route's `auth` (nothing to resolve against the table: the schema has checked every field). */
export function compileAuth(r: RouteSpec): CompiledAuth | undefined {
  if (!r.auth) return undefined;
  return { required: r.auth.required, audiences: r.auth.audiences, scopes: [...new Set(r.auth.scopes)] };
}
