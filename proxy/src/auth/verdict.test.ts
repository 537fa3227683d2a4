import { UNTRUSTED } from '../forward/headers';
import { bearerTokenOf, challengeOf, claimsOf, judgeClaims, ownWithIdentity, type VerifiedClaims } from './verdict';

const claims: VerifiedClaims = { sub: 'u1', aud: ['api'], scopes: ['a', 'b'], exp: 100, clientId: 'web' };
const auth = { required: true, audiences: undefined, scopes: [] as string[] };

describe('auth verdicts (pure)', () => {
  it.each([
    [[], { none: true }],
    [['authorization', ''], { none: true }],
    [['Authorization', 'Bearer abc.def-_~+/ghi=='], { token: 'abc.def-_~+/ghi==' }],
    [['AUTHORIZATION', 'bearer   tok'], { token: 'tok' }],
    [['authorization', 'Basic abc'], { problem: "the Authorization header is not 'Bearer <token>'" }],
    [['authorization', 'Bearer a b'], { problem: "the Authorization header is not 'Bearer <token>'" }],
    [['authorization', 'Bearer a', 'Authorization', 'Bearer b'], { problem: 'more than one Authorization header' }],
  ])('bearerTokenOf(%j)', (raw, expected) => expect(bearerTokenOf(raw)).toEqual(expected));

  it('judges audience (route list, else the default) and scopes', () => {
    expect(judgeClaims(claims, auth, 'api')).toEqual({ ok: true, claims });
    expect(judgeClaims(claims, auth, 'other')).toMatchObject({ ok: false, code: 'PROXY_ERR_INVALID_TOKEN' });
    expect(judgeClaims(claims, { ...auth, audiences: ['x', 'api'] }, 'other').ok).toBe(true);
    expect(judgeClaims(claims, { ...auth, scopes: ['a', 'c', 'd'] }, 'api')).toEqual({
      ok: false,
      code: 'PROXY_ERR_INSUFFICIENT_SCOPE',
      reason: 'the token lacks scope c d',
      scopes: ['a', 'c', 'd'],
    });
  });

  it('writes RFC 6750 challenges, quoting safely', () => {
    expect(challengeOf({ ok: false, code: 'PROXY_ERR_AUTH_REQUIRED', reason: 'no token' })).toBe(
      'Bearer realm="warm-house", error_description="no token"',
    );
    expect(challengeOf({ ok: false, code: 'PROXY_ERR_INVALID_TOKEN', reason: 'a "q" \\ é' })).toBe(
      'Bearer realm="warm-house", error="invalid_token", error_description="a \\"q\\" \\\\ ?"',
    );
  });

  it('reads the claims it uses: aud as a list, scope or scp, client_id or azp; refuses unusable ones', () => {
    expect(claimsOf({ sub: 's', aud: 'api', exp: 5, scope: 'a  b', azp: 'web' })).toEqual({
      sub: 's',
      aud: ['api'],
      exp: 5,
      scopes: ['a', 'b'],
      clientId: 'web',
    });
    expect(claimsOf({ sub: 's', aud: ['x', 1], exp: 5, scp: ['a'], client_id: 'gw' })).toEqual({
      sub: 's',
      aud: ['x'],
      exp: 5,
      scopes: ['a'],
      clientId: 'gw',
    });
    expect(claimsOf({ sub: 's', exp: 5, roles: ['strangler:viewer', 7] })).toMatchObject({
      roles: ['strangler:viewer'],
    });
    expect(claimsOf({ sub: 's', exp: 5, realm_access: { roles: ['r1'] } }, 'realm_access.roles')).toMatchObject({
      roles: ['r1'],
    });
    expect(claimsOf({ sub: 's', exp: 5, groups: 'a b' }, 'groups')).toMatchObject({ roles: ['a', 'b'] });
    expect(claimsOf({ sub: 's', exp: 5, roles: { not: 'a list' } })).not.toHaveProperty('roles');
    expect(claimsOf({ sub: 'a\r\nx: y', exp: 5 })).toMatch(/sub/);
    expect(claimsOf({ sub: 's' })).toMatch(/exp/);
    expect(claimsOf({ sub: 's', exp: 5, scope: 'a "b' })).toMatch(/scope/);
    expect(claimsOf({ sub: 's', exp: 5, client_id: 'x\ny' })).toMatch(/client_id/);
  });

  it('sets the identity fields, owns them, drops the verified token; anonymous carries none', () => {
    expect(ownWithIdentity(UNTRUSTED, claims)).toEqual({
      trusted: false,
      owned: ['x-strangler-subject', 'x-strangler-client-id', 'x-strangler-scopes'],
      set: ['x-strangler-subject', 'u1', 'x-strangler-client-id', 'web', 'x-strangler-scopes', 'a b'],
      dropAuthorization: true,
    });
    expect(ownWithIdentity({ ...UNTRUSTED, trusted: true }, undefined)).toMatchObject({
      trusted: true,
      set: [],
      dropAuthorization: false,
    });
  });
});
