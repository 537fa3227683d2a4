import type { ProxyErrorCode } from '../errors';
import type { OwnHeaders } from '../forward/headers';
import type { CompiledAuth } from '../table/compile/auth';

/** Realm named in every `WWW-Authenticate` challenge of the proxy. */
export const REALM = 'warm-house';

/** Identity fields the proxy sets on requests it forwards after verifying a token (client copies removed). */
export const IDENTITY_HEADERS = {
  /** The token's `sub`: the user, or the client itself for a client-credentials token. */
  subject: 'x-strangler-subject',
  /** The OAuth client the token was issued to (`client_id`, else `azp`); absent when the token names none. */
  clientId: 'x-strangler-client-id',
  /** The token's scopes, space-separated (`scope`, or `scp`). */
  scopes: 'x-strangler-scopes',
} as const;

/** The claims of a verified access token that the proxy uses. */
export interface VerifiedClaims {
  readonly sub: string;
  /** `aud` as a list. */
  readonly aud: readonly string[];
  readonly scopes: readonly string[];
  readonly clientId?: string;
  /** Expiry, epoch seconds. */
  readonly exp: number;
  /** The roles the token grants (the admin API's roles claim); absent when it names none. */
  readonly roles?: readonly string[];
}

/** What the proxy decided about a request's credentials on a route with `auth`. */
export type Verdict =
  | { readonly ok: true; readonly claims: VerifiedClaims | undefined }
  | {
      readonly ok: false;
      readonly code: Extract<
        ProxyErrorCode,
        | 'PROXY_ERR_AUTH_REQUIRED'
        | 'PROXY_ERR_INVALID_TOKEN'
        | 'PROXY_ERR_INSUFFICIENT_SCOPE'
        | 'PROXY_ERR_AUTH_NOT_CONFIGURED'
      >;
      readonly reason: string;
      /** Scopes to name in the challenge (insufficient scope). */
      readonly scopes?: readonly string[];
    };

/** A refusal verdict. */
export type Refused = Extract<Verdict, { ok: false }>;

/** An anonymous request allowed on a route whose auth is optional. */
export const ANONYMOUS: Verdict = Object.freeze({ ok: true, claims: undefined });

/** Where the bearer token of a request is: the token, none, or why the `Authorization` field is unusable. */
export type BearerLookup = { readonly token: string } | { readonly none: true } | { readonly problem: string };

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The bearer token of a request (RFC 6750 §2.1) from its raw header list: exactly one `Authorization` field with
 * scheme `Bearer` and a token68 value. Two fields are refused (which one would the upstream read?).
 */
export function bearerTokenOf(rawHeaders: readonly string[]): BearerLookup {
  let value: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length !== 13 || name.toLowerCase() !== 'authorization') continue;
    if (value !== undefined) return { problem: 'more than one Authorization header' };
    value = rawHeaders[i + 1]!;
  }
  if (value === undefined || value.trim() === '') return { none: true };
  const m = BEARER.exec(value);
  if (!m) return { problem: "the Authorization header is not 'Bearer <token>'" };
  return { token: m[1]! };
}

/**
 * Whether verified claims may use a route: `aud` must name one of the route's audiences (default the proxy's),
 * and every scope the route requires must be granted.
 */
export function judgeClaims(claims: VerifiedClaims, auth: CompiledAuth, defaultAudience: string): Verdict {
  const audiences = auth.audiences ?? [defaultAudience];
  if (!claims.aud.some((a) => audiences.includes(a))) {
    return {
      ok: false,
      code: 'PROXY_ERR_INVALID_TOKEN',
      reason: `the token's audience (${claims.aud.join(', ') || 'none'}) is not ${audiences.join(' or ')}`,
    };
  }
  const missing = auth.scopes.filter((s) => !claims.scopes.includes(s));
  if (missing.length > 0) {
    return {
      ok: false,
      code: 'PROXY_ERR_INSUFFICIENT_SCOPE',
      reason: `the token lacks scope ${missing.join(' ')}`,
      scopes: auth.scopes,
    };
  }
  return { ok: true, claims };
}

/** Quotes a value for an auth-param (RFC 9110 §11.2 quoted-string). */
function quoted(v: string): string {
  return `"${v.replace(/[\\"]/g, '\\$&').replace(/[^\x20-\x7e]/g, '?')}"`;
}

/** A `WWW-Authenticate: Bearer` challenge (RFC 6750 §3): the realm, the error code if any, the description. */
export function bearerChallenge(o: { realm: string; error?: string; description: string; scope?: string }): string {
  const parts = [`Bearer realm=${quoted(o.realm)}`];
  if (o.error !== undefined) parts.push(`error=${quoted(o.error)}`);
  parts.push(`error_description=${quoted(o.description)}`);
  if (o.scope) parts.push(`scope=${quoted(o.scope)}`);
  return parts.join(', ');
}

/**
 * The `WWW-Authenticate` challenge of a refusal (RFC 6750 §3): `invalid_token` (401) or `insufficient_scope` (403)
 * with the reason in `error_description`; a request without credentials gets the realm and a description only.
 */
export function challengeOf(v: Refused): string {
  const error =
    v.code === 'PROXY_ERR_INVALID_TOKEN'
      ? 'invalid_token'
      : v.code === 'PROXY_ERR_INSUFFICIENT_SCOPE'
        ? 'insufficient_scope'
        : undefined;
  return bearerChallenge({ realm: REALM, error, description: v.reason, scope: v.scopes?.join(' ') });
}

/** The identity fields for the upstream, flat `[name, value, ...]` (values are checked to be header-safe). */
export function identityFields(claims: VerifiedClaims): string[] {
  const out: string[] = [IDENTITY_HEADERS.subject, claims.sub];
  if (claims.clientId !== undefined) out.push(IDENTITY_HEADERS.clientId, claims.clientId);
  out.push(IDENTITY_HEADERS.scopes, claims.scopes.join(' '));
  return out;
}

/** Text safe as a header value: visible ASCII and spaces, at most 256 characters. */
const HEADER_SAFE = /^[\x20-\x7e]{1,256}$/;

/** Default claim holding a token's roles (`PROXY_ADMIN_ROLES_CLAIM`). */
export const DEFAULT_ROLES_CLAIM = 'roles';

/**
 * The roles a payload grants: the claim named by `path` (dots walk into objects, e.g. `realm_access.roles`), a list
 * of strings or one space-separated string; anything else grants none.
 */
export function rolesOf(payload: Readonly<Record<string, unknown>>, path: string): string[] {
  let value: unknown = payload;
  for (const key of path.split('.')) {
    value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  }
  const list = typeof value === 'string' ? value.split(' ') : Array.isArray(value) ? value : [];
  return list.filter((r): r is string => typeof r === 'string' && r.length > 0 && r.length <= 128);
}

/**
 * The claims the proxy uses, from a payload whose signature, issuer and times were verified; `string` says why the
 * payload is not usable as an access token here. `rolesClaim` names the claim read into `roles`.
 */
export function claimsOf(
  payload: Readonly<Record<string, unknown>>,
  rolesClaim: string = DEFAULT_ROLES_CLAIM,
): VerifiedClaims | string {
  const { sub, aud, exp, scope, scp, client_id: clientId, azp } = payload;
  if (typeof sub !== 'string' || !HEADER_SAFE.test(sub)) return 'the token has no usable sub claim';
  if (typeof exp !== 'number') return 'the token has no exp claim';
  const audList = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a) => typeof a === 'string') : [];
  const scopes =
    typeof scope === 'string'
      ? scope.split(' ').filter(Boolean)
      : Array.isArray(scp)
        ? scp.filter((s): s is string => typeof s === 'string')
        : [];
  if (scopes.some((s) => !/^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/.test(s))) return 'the token has a malformed scope';
  const client = typeof clientId === 'string' ? clientId : typeof azp === 'string' ? azp : undefined;
  if (client !== undefined && !HEADER_SAFE.test(client)) return 'the token has a malformed client_id';
  const roles = rolesOf(payload, rolesClaim);
  return {
    sub,
    aud: audList,
    scopes,
    exp,
    ...(client !== undefined ? { clientId: client } : {}),
    ...(roles.length > 0 ? { roles } : {}),
  };
}

/** The identity field names, lowercase. */
export const IDENTITY_FIELD_NAMES: readonly string[] = Object.values(IDENTITY_HEADERS);

/**
 * The proxy's own fields of a request on a route with `auth` once it passed: the identity fields are the proxy's
 * (any client copy removed, a trusted peer's too), set from the verified claims, and the verified token is not
 * forwarded; an anonymous request (optional auth) carries no identity.
 */
export function ownWithIdentity(own: OwnHeaders, claims: VerifiedClaims | undefined): OwnHeaders {
  return {
    trusted: own.trusted,
    owned: IDENTITY_FIELD_NAMES,
    set: claims ? identityFields(claims) : [],
    dropAuthorization: claims !== undefined,
  };
}
