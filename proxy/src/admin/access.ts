import { bearerChallenge, type VerifiedClaims } from '../auth/verdict';
import type { ProxyErrorCode } from '../errors';
import type { AuditIdentity } from '../table/audit';

// Who may call the admin API, pure: (credentials, what the request needs, config) → verdict. The I/O (reading the
// header, comparing the shared token, verifying a JWT) is in ./authorize.ts.

/** The roles of the admin API, in a person's token (`PROXY_ADMIN_ROLES_CLAIM`). */
export const ADMIN_ROLES = {
  /** Reads: routes, table, audit, statistics, metrics, fleet. */
  viewer: 'strangler:viewer',
  /** Reads and changes: routes, toggles, canary weights, plans, table reload. */
  operator: 'strangler:operator',
} as const;

/** Realm of the admin API's challenges. */
export const ADMIN_REALM = 'strangler-admin';

/** What a request needs: reading (GET, HEAD) or changing (anything else). */
export type AdminNeed = 'read' | 'change';

/** The need of an HTTP method. */
export function needOf(method: string): AdminNeed {
  return method === 'GET' || method === 'HEAD' ? 'read' : 'change';
}

/** What a request presented, once the shared token was compared and a JWT verified. */
export type AdminCredentials =
  | { readonly kind: 'none' }
  | { readonly kind: 'malformed'; readonly problem: string }
  | { readonly kind: 'shared-token' }
  /** A bearer value that is not the shared token, while person tokens are not accepted. */
  | { readonly kind: 'unknown-token' }
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'verified'; readonly claims: VerifiedClaims };

/** The admin API's settings the decision depends on. */
export interface AdminAccessConfig {
  /** Audience a person's token must name; absent: person tokens are not accepted. */
  readonly audience?: string;
  /** Neither a shared token nor person tokens: every request passes (PROXY_INSECURE_DEV_ADMIN). */
  readonly open: boolean;
}

/** Who made an admin request. */
export type AdminPrincipal =
  | { readonly kind: 'shared-token' }
  | { readonly kind: 'person'; readonly subject: string; readonly clientId?: string; readonly roles: readonly string[] }
  | { readonly kind: 'open' };

/** The decision on an admin request. */
export type AdminVerdict =
  | { readonly ok: true; readonly principal: AdminPrincipal }
  | {
      readonly ok: false;
      readonly code: Extract<ProxyErrorCode, 'PROXY_ERR_UNAUTHORIZED' | 'PROXY_ERR_ADMIN_FORBIDDEN'>;
      readonly reason: string;
      /** The `WWW-Authenticate` value. */
      readonly challenge: string;
      /** Roles that would do, for the body of a 403. */
      readonly required?: readonly string[];
    };

const OPEN: AdminVerdict = Object.freeze({ ok: true, principal: Object.freeze({ kind: 'open' }) });
const SHARED: AdminVerdict = Object.freeze({ ok: true, principal: Object.freeze({ kind: 'shared-token' }) });

/** The roles that allow a need (an operator may read). */
export function rolesFor(need: AdminNeed): readonly string[] {
  return need === 'read' ? [ADMIN_ROLES.viewer, ADMIN_ROLES.operator] : [ADMIN_ROLES.operator];
}

function unauthorized(reason: string, withError = true): AdminVerdict {
  const challenge = bearerChallenge({
    realm: ADMIN_REALM,
    ...(withError ? { error: 'invalid_token' } : {}),
    description: reason,
  });
  return { ok: false, code: 'PROXY_ERR_UNAUTHORIZED', reason, challenge };
}

function judgePerson(claims: VerifiedClaims, need: AdminNeed, audience: string): AdminVerdict {
  if (!claims.aud.includes(audience)) {
    return unauthorized(`the token's audience (${claims.aud.join(', ') || 'none'}) is not ${audience}`);
  }
  const roles = claims.roles ?? [];
  const required = rolesFor(need);
  if (!required.some((r) => roles.includes(r))) {
    const reason = `${need === 'read' ? 'reading' : 'a change'} needs role ${required.join(' or ')}; the token grants ${roles.join(', ') || 'no role'}`;
    const challenge = bearerChallenge({ realm: ADMIN_REALM, error: 'insufficient_scope', description: reason });
    return { ok: false, code: 'PROXY_ERR_ADMIN_FORBIDDEN', reason, challenge, required };
  }
  const principal: AdminPrincipal = {
    kind: 'person',
    subject: claims.sub,
    roles,
    ...(claims.clientId !== undefined ? { clientId: claims.clientId } : {}),
  };
  return { ok: true, principal };
}

/** Whether a request with these credentials may do what it needs. */
export function decideAdminAccess(
  credentials: AdminCredentials,
  need: AdminNeed,
  config: AdminAccessConfig,
): AdminVerdict {
  if (config.open) return OPEN;
  switch (credentials.kind) {
    case 'shared-token':
      return SHARED;
    case 'none':
      return unauthorized('no bearer token was sent', false);
    case 'malformed':
      return unauthorized(credentials.problem);
    case 'unknown-token':
      return unauthorized('the token is not the admin token');
    case 'refused':
      return unauthorized(credentials.reason);
    case 'verified':
      return config.audience === undefined
        ? unauthorized('the admin API accepts no person tokens (PROXY_ADMIN_OIDC_AUDIENCE is not set)')
        : judgePerson(credentials.claims, need, config.audience);
  }
}

/** The actor and identity a change by this principal is audited with (`declared`: its `X-Strangler-Actor`). */
export function auditActorOf(
  principal: AdminPrincipal,
  declared: string | undefined,
): { actor: string; identity: AuditIdentity } {
  switch (principal.kind) {
    case 'person':
      return {
        actor: `oidc:${principal.subject}`,
        identity: {
          subject: principal.subject,
          ...(principal.clientId !== undefined ? { clientId: principal.clientId } : {}),
        },
      };
    case 'shared-token':
      return { actor: 'token:admin', identity: declared ? { declaredActor: declared } : {} };
    case 'open':
      return { actor: `open:${declared ?? 'anonymous'}`, identity: {} };
  }
}
