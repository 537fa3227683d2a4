import { z } from 'zod';

/**
 * Contract of the identity the proxy forwards to the services after it verified a bearer token (docs/identity-headers.md).
 * The proxy removes every client copy of `X-Strangler-*` and sets these fields itself, so a service may trust them;
 * a service never reads a token. Services parse them with {@link callerOf}. The names are those the proxy sets
 * (`IDENTITY_HEADERS` of proxy/src/auth/verdict.ts, docs/proxy/identity.md), which can import this object instead.
 */
export const IDENTITY_HEADERS = Object.freeze({
  /** the token's `sub`: the user, or the client itself for a client-credentials token (a gateway) */
  subject: 'x-strangler-subject',
  /** the OAuth client the token was issued to (`client_id`, else `azp`); absent when the token names none */
  clientId: 'x-strangler-client-id',
  /** the token's scopes, space-separated (`scope`, or `scp`) */
  scopes: 'x-strangler-scopes',
} as const);

/** Scopes the services decide on. */
export const IDENTITY_SCOPES = Object.freeze({
  /** sees and changes every device and every device's readings */
  operator: 'warmhouse:operator',
  /** may send readings to `POST /api/v1/telemetry` (a gateway's client-credentials token) */
  telemetryIngest: 'telemetry:ingest',
});

/** At most as long as the `owner_id` column it is stored in. */
export const SUBJECT_MAX_LENGTH = 100;

export const identityHeadersSchema = z.object({
  [IDENTITY_HEADERS.subject]: z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(SUBJECT_MAX_LENGTH, `must be at most ${SUBJECT_MAX_LENGTH} characters`)
    .optional(),
  [IDENTITY_HEADERS.clientId]: z.string().trim().min(1, 'must not be empty').optional(),
  [IDENTITY_HEADERS.scopes]: z.string().optional(),
});

/** Who is calling, as the proxy verified it. */
export interface Caller {
  readonly subject: string;
  /** the OAuth client, when the token names one */
  readonly clientId?: string;
  readonly scopes: ReadonlySet<string>;
}

export type CallerResult =
  | { readonly ok: true; readonly caller: Caller | undefined }
  | { readonly ok: false; readonly header: string; readonly message: string };

const single = (v: unknown): unknown => (Array.isArray(v) ? (v.length === 1 ? v[0] : v) : v);

/**
 * The caller named by request headers (lowercase names, as Node gives them): undefined when there is no subject;
 * an error naming the field when a field is malformed (repeated, empty, too long).
 */
export function callerOf(headers: Readonly<Record<string, unknown>>): CallerResult {
  const parsed = identityHeadersSchema.safeParse({
    [IDENTITY_HEADERS.subject]: single(headers[IDENTITY_HEADERS.subject]),
    [IDENTITY_HEADERS.clientId]: single(headers[IDENTITY_HEADERS.clientId]),
    [IDENTITY_HEADERS.scopes]: single(headers[IDENTITY_HEADERS.scopes]),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const header = String(issue?.path[0] ?? IDENTITY_HEADERS.subject);
    const message = Array.isArray(headers[header]) ? 'must be sent once' : (issue?.message ?? 'is malformed');
    return { ok: false, header, message };
  }
  const subject = parsed.data[IDENTITY_HEADERS.subject];
  if (subject === undefined) return { ok: true, caller: undefined };
  const scopes = new Set((parsed.data[IDENTITY_HEADERS.scopes] ?? '').split(/\s+/).filter((s) => s !== ''));
  const clientId = parsed.data[IDENTITY_HEADERS.clientId];
  return { ok: true, caller: { subject, scopes, ...(clientId !== undefined ? { clientId } : {}) } };
}

/** The headers that name `caller` (the proxy's side, and tests). */
export function identityHeadersOf(caller: {
  subject: string;
  clientId?: string;
  scopes?: readonly string[];
}): Record<string, string> {
  return {
    [IDENTITY_HEADERS.subject]: caller.subject,
    ...(caller.clientId !== undefined ? { [IDENTITY_HEADERS.clientId]: caller.clientId } : {}),
    ...(caller.scopes && caller.scopes.length > 0 ? { [IDENTITY_HEADERS.scopes]: caller.scopes.join(' ') } : {}),
  };
}
