import type { VerifiedClaims } from '../auth/verdict';
import {
  ADMIN_ROLES,
  auditActorOf,
  decideAdminAccess,
  needOf,
  type AdminAccessConfig,
  type AdminCredentials,
  type AdminNeed,
} from './access';

const AUD = 'urn:strangler:admin';
const person = (roles: string[] | undefined, aud = [AUD]): AdminCredentials => ({
  kind: 'verified',
  claims: { sub: 'user-alice', aud, scopes: [], exp: 9e9, clientId: 'web', ...(roles ? { roles } : {}) },
});
const both: AdminAccessConfig = { open: false, audience: AUD };
const tokenOnly: AdminAccessConfig = { open: false };

describe('admin access verdict', () => {
  type Row = [string, AdminCredentials, AdminNeed, AdminAccessConfig, number | 'ok', RegExp?];
  const rows: Row[] = [
    ['shared token reads', { kind: 'shared-token' }, 'read', both, 'ok'],
    ['shared token changes', { kind: 'shared-token' }, 'change', tokenOnly, 'ok'],
    ['viewer reads', person([ADMIN_ROLES.viewer]), 'read', both, 'ok'],
    ['operator reads', person([ADMIN_ROLES.operator]), 'read', both, 'ok'],
    ['operator changes', person(['x', ADMIN_ROLES.operator]), 'change', both, 'ok'],
    [
      'viewer changes',
      person([ADMIN_ROLES.viewer]),
      'change',
      both,
      403,
      /needs role strangler:operator.*grants strangler:viewer/,
    ],
    ['no role reads', person(undefined), 'read', both, 403, /grants no role/],
    [
      'wrong audience',
      person([ADMIN_ROLES.operator], ['urn:warm-house:api']),
      'read',
      both,
      401,
      /audience \(urn:warm-house:api\) is not urn:strangler:admin/,
    ],
    ['person token, none accepted', person([ADMIN_ROLES.operator]), 'read', tokenOnly, 401, /accepts no person tokens/],
    ['no token', { kind: 'none' }, 'read', both, 401, /no bearer token/],
    [
      'malformed',
      { kind: 'malformed', problem: 'more than one Authorization header' },
      'read',
      both,
      401,
      /more than one/,
    ],
    ['unknown token', { kind: 'unknown-token' }, 'read', tokenOnly, 401, /not the admin token/],
    ['refused JWT', { kind: 'refused', reason: 'the token has expired' }, 'change', both, 401, /expired/],
    ['open admin API', { kind: 'none' }, 'change', { open: true }, 'ok'],
  ];

  it.each(rows)('%s', (...row: Row) => {
    const [, credentials, need, config, expected, reason] = row;
    const v = decideAdminAccess(credentials, need, config);
    if (expected === 'ok') return expect(v.ok).toBe(true);
    if (v.ok) throw new Error('expected a refusal');
    expect(v.code).toBe(expected === 401 ? 'PROXY_ERR_UNAUTHORIZED' : 'PROXY_ERR_ADMIN_FORBIDDEN');
    expect(v.reason).toMatch(reason!);
    expect(v.challenge).toContain('Bearer realm="strangler-admin"');
    expect(v.challenge).toContain(`error_description="${v.reason}"`);
  });

  it('names the error in the challenge: insufficient_scope (403), invalid_token (401), none without credentials', () => {
    const forbidden = decideAdminAccess(person([ADMIN_ROLES.viewer]), 'change', both);
    const invalid = decideAdminAccess({ kind: 'refused', reason: 'the token is malformed' }, 'read', both);
    const none = decideAdminAccess({ kind: 'none' }, 'read', both);
    expect(forbidden).toMatchObject({ required: [ADMIN_ROLES.operator] });
    expect(!forbidden.ok && forbidden.challenge).toMatch(/error="insufficient_scope"/);
    expect(!invalid.ok && invalid.challenge).toMatch(/error="invalid_token"/);
    expect(!none.ok && none.challenge).not.toMatch(/error=/);
  });

  it('reads with GET and HEAD, changes with anything else', () => {
    expect(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].map(needOf)).toEqual([
      'read',
      'read',
      'change',
      'change',
      'change',
      'change',
    ]);
  });
});

describe('audit actor', () => {
  const claims: VerifiedClaims = { sub: 'user-alice', aud: [AUD], scopes: [], exp: 1, clientId: 'web' };

  it('names a person by subject and client, the shared token as token:admin with its declared name', () => {
    expect(auditActorOf({ kind: 'person', subject: claims.sub, clientId: 'web', roles: [] }, 'ignored')).toEqual({
      actor: 'oidc:user-alice',
      identity: { subject: 'user-alice', clientId: 'web' },
    });
    expect(auditActorOf({ kind: 'shared-token' }, 'deploy-bot')).toEqual({
      actor: 'token:admin',
      identity: { declaredActor: 'deploy-bot' },
    });
    expect(auditActorOf({ kind: 'shared-token' }, undefined)).toEqual({ actor: 'token:admin', identity: {} });
    expect(auditActorOf({ kind: 'open' }, 'me')).toEqual({ actor: 'open:me', identity: {} });
  });
});
