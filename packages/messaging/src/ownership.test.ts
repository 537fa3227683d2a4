import { IDENTITY_SCOPES, callerOf, identityHeadersOf } from './contracts/identity-headers';
import { accessOf, hasScope, mayAccess, ownerFilterOf, ownerToRecord, type Access } from './ownership';

const access = (headers: Record<string, unknown>): Access => {
  const d = accessOf(headers, true);
  if (!d.ok) throw new Error(d.detail);
  return d.access;
};
const alice = access(identityHeadersOf({ subject: 'alice', scopes: ['openid'] }));
const operator = access(identityHeadersOf({ subject: 'olga', scopes: ['openid', IDENTITY_SCOPES.operator] }));
const gateway = access(identityHeadersOf({ subject: 'gw-1', scopes: [IDENTITY_SCOPES.telemetryIngest] }));
const anyone = (() => {
  const d = accessOf({}, false);
  if (!d.ok) throw new Error('anyone');
  return d.access;
})();

describe('callerOf', () => {
  it.each([
    [{}, undefined],
    [{ 'x-strangler-subject': 'alice' }, { subject: 'alice', scopes: [] }],
    [
      { 'x-strangler-subject': ' alice ', 'x-strangler-scopes': ' a  b ' },
      { subject: 'alice', scopes: ['a', 'b'] },
    ],
    [{ 'x-strangler-scopes': 'a' }, undefined],
    [
      { 'x-strangler-subject': 'gw-1', 'x-strangler-client-id': 'gw-1', 'x-strangler-scopes': 'telemetry:ingest' },
      { subject: 'gw-1', clientId: 'gw-1', scopes: ['telemetry:ingest'] },
    ],
  ])('%j -> %j', (headers, expected) => {
    const r = callerOf(headers);
    expect(r.ok).toBe(true);
    const caller = r.ok ? r.caller : undefined;
    expect(caller && { ...caller, scopes: [...caller.scopes] }).toEqual(expected);
  });

  it.each([
    [{ 'x-strangler-subject': '' }, 'x-strangler-subject', 'must not be empty'],
    [{ 'x-strangler-subject': 'x'.repeat(101) }, 'x-strangler-subject', 'at most 100'],
    [{ 'x-strangler-subject': ['a', 'b'] }, 'x-strangler-subject', 'must be sent once'],
    [{ 'x-strangler-subject': 'a', 'x-strangler-scopes': ['a', 'b'] }, 'x-strangler-scopes', 'must be sent once'],
    [{ 'x-strangler-subject': 'a', 'x-strangler-client-id': ' ' }, 'x-strangler-client-id', 'must not be empty'],
  ])('refuses %j, naming %s', (headers, header, message) => {
    const r = callerOf(headers);
    expect(r).toMatchObject({ ok: false, header });
    expect(r.ok ? '' : r.message).toContain(message);
  });
});

describe('accessOf', () => {
  it('is anyone when identity is not required, whatever the headers', () => {
    expect(accessOf(identityHeadersOf({ subject: 'alice' }), false)).toEqual({ ok: true, access: { kind: 'anyone' } });
  });
  it('refuses a request without a subject, naming the field', () => {
    expect(accessOf({}, true)).toMatchObject({ ok: false, header: 'x-strangler-subject' });
  });
  it('refuses a malformed subject', () => {
    expect(accessOf({ 'x-strangler-subject': '' }, true)).toMatchObject({
      ok: false,
      detail: expect.stringContaining('empty'),
    });
  });
  it('tells operators from owners by the operator scope', () => {
    expect([alice.kind, operator.kind, gateway.kind]).toEqual(['owner', 'operator', 'owner']);
  });
});

describe('which devices a caller may see or change', () => {
  it.each<[string, Access, string | null, boolean]>([
    ['alice, her device', alice, 'alice', true],
    ["alice, bob's device", alice, 'bob', false],
    ['alice, a device of nobody (monolith)', alice, null, false],
    ["operator, bob's device", operator, 'bob', true],
    ['operator, a device of nobody', operator, null, true],
    ['anyone (switch off), any device', anyone, 'bob', true],
    ['a gateway, a user device', gateway, 'alice', false],
  ])('%s -> %s', (_name, a, ownerId, expected) => {
    expect(mayAccess(a, ownerId)).toBe(expected);
  });

  it.each<[string, Access, string | undefined]>([
    ['alice', alice, 'alice'],
    ['operator', operator, undefined],
    ['anyone', anyone, undefined],
  ])('lists for %s restricted to %s', (_name, a, expected) => {
    expect(ownerFilterOf(a)).toBe(expected);
  });
});

describe('ownerToRecord', () => {
  it.each<[string, Access, string | null, { ok: boolean; ownerId?: string | null }]>([
    ['alice, none asked', alice, null, { ok: true, ownerId: 'alice' }],
    ['alice, herself asked', alice, 'alice', { ok: true, ownerId: 'alice' }],
    ['alice, bob asked', alice, 'bob', { ok: false }],
    ['operator, bob asked', operator, 'bob', { ok: true, ownerId: 'bob' }],
    ['operator, none asked', operator, null, { ok: true, ownerId: 'olga' }],
    ['anyone, bob asked', anyone, 'bob', { ok: true, ownerId: 'bob' }],
    ['anyone, none asked', anyone, null, { ok: true, ownerId: null }],
  ])('%s', (_name, a, asked, expected) => {
    expect(ownerToRecord(a, asked)).toMatchObject(expected);
  });
});

describe('hasScope', () => {
  it.each<[string, Access, boolean]>([
    ['a gateway with telemetry:ingest', gateway, true],
    ['a user without it', alice, false],
    ['an operator', operator, true],
    ['anyone (switch off)', anyone, true],
  ])('%s', (_name, a, expected) => {
    expect(hasScope(a, IDENTITY_SCOPES.telemetryIngest)).toBe(expected);
  });
});
