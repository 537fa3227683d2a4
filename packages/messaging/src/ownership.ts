import { callerOf, IDENTITY_SCOPES, IDENTITY_HEADERS, type Caller } from './contracts/identity-headers';

/**
 * Ownership decisions the services share (pure; docs/identity-headers.md). A request's {@link Access} is decided
 * once from its identity headers; every read and write then asks it which devices it may touch.
 */
export type Access =
  /** identity is not required (the switch is off, or a legacy route): everything, as before */
  | { readonly kind: 'anyone' }
  /** an operator (`warmhouse:operator`): every device */
  | { readonly kind: 'operator'; readonly caller: Caller }
  /** a user or gateway: only devices whose owner is its subject */
  | { readonly kind: 'owner'; readonly caller: Caller };

export type AccessDecision =
  | { readonly ok: true; readonly access: Access }
  /** answered 401: no subject, or a malformed identity field (named in `detail`) */
  | { readonly ok: false; readonly detail: string; readonly header: string };

export const ANYONE: Access = Object.freeze({ kind: 'anyone' });

/** The access of a request with these headers, when `required` (the service's switch) says identity is needed. */
export function accessOf(headers: Readonly<Record<string, unknown>>, required: boolean): AccessDecision {
  if (!required) return { ok: true, access: ANYONE };
  const result = callerOf(headers);
  if (!result.ok) return { ok: false, header: result.header, detail: `${result.header} ${result.message}` };
  if (result.caller === undefined) {
    return {
      ok: false,
      header: IDENTITY_HEADERS.subject,
      detail: 'this API needs an authenticated caller (a bearer token the gateway verified); none was sent',
    };
  }
  const caller = result.caller;
  return {
    ok: true,
    access: caller.scopes.has(IDENTITY_SCOPES.operator) ? { kind: 'operator', caller } : { kind: 'owner', caller },
  };
}

/** Whether `access` may see and change a device owned by `ownerId` (null: nobody, e.g. a monolith device). */
export function mayAccess(access: Access, ownerId: string | null | undefined): boolean {
  return access.kind !== 'owner' || (ownerId ?? null) === access.caller.subject;
}

/** The owner a listing is restricted to, or undefined for no restriction. */
export function ownerFilterOf(access: Access): string | undefined {
  return access.kind === 'owner' ? access.caller.subject : undefined;
}

/** Whether `access` holds `scope` (everything holds every scope when identity is not required; operators too). */
export function hasScope(access: Access, scope: string): boolean {
  return access.kind !== 'owner' || access.caller.scopes.has(scope);
}

export type OwnerDecision =
  { readonly ok: true; readonly ownerId: string | null } | { readonly ok: false; readonly message: string };

/**
 * The owner recorded for a device registered (or connected) by `access`, given the `ownerId` the request asked for:
 * a user owns what it registers and may not name anyone else; an operator may register on anyone's behalf
 * (itself by default); without identity the request's value stands, as before.
 */
export function ownerToRecord(access: Access, requested: string | null | undefined): OwnerDecision {
  const asked = requested ?? null;
  if (access.kind === 'anyone') return { ok: true, ownerId: asked };
  const self = access.caller.subject;
  if (access.kind === 'operator') return { ok: true, ownerId: asked ?? self };
  if (asked === null || asked === self) return { ok: true, ownerId: self };
  return {
    ok: false,
    message: `may only name the caller (${self}); registering for someone else needs ${IDENTITY_SCOPES.operator}`,
  };
}
