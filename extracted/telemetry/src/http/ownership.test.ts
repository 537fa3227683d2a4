import { ANYONE, IDENTITY_SCOPES, identityHeadersOf, type Access } from '@warmhouse/messaging';
import { gateDecision, readableDevices } from './ownership';

const headers = (subject: string, ...scopes: string[]) => identityHeadersOf({ subject, scopes });

describe('gateDecision', () => {
  it.each<[string, { ingest: boolean; headers: Record<string, unknown> }, boolean, string]>([
    ['a read without identity, switch off', { ingest: false, headers: {} }, false, 'anyone'],
    ['ingest without identity, switch off', { ingest: true, headers: {} }, false, 'anyone'],
    ['a read by a user', { ingest: false, headers: headers('alice') }, true, 'owner'],
    ['a read by an operator', { ingest: false, headers: headers('ops', IDENTITY_SCOPES.operator) }, true, 'operator'],
    ['ingest by a gateway', { ingest: true, headers: headers('gw', IDENTITY_SCOPES.telemetryIngest) }, true, 'owner'],
    ['ingest by an operator', { ingest: true, headers: headers('ops', IDENTITY_SCOPES.operator) }, true, 'operator'],
  ])('lets %s through', (_name, req, required, kind) => {
    const d = gateDecision(req, required);
    expect(d.ok && d.access.kind).toBe(kind);
  });

  it.each<[string, { ingest: boolean; headers: Record<string, unknown> }, string, string]>([
    [
      'a read without a subject',
      { ingest: false, headers: {} },
      'TELEMETRY_ERR_UNAUTHENTICATED',
      'x-strangler-subject',
    ],
    ['ingest without a subject', { ingest: true, headers: {} }, 'TELEMETRY_ERR_UNAUTHENTICATED', 'x-strangler-subject'],
    [
      'ingest by a user',
      { ingest: true, headers: headers('alice', 'openid') },
      'TELEMETRY_ERR_FORBIDDEN',
      'x-strangler-scopes',
    ],
    [
      'a repeated subject',
      { ingest: false, headers: { 'x-strangler-subject': ['a', 'b'] } },
      'TELEMETRY_ERR_UNAUTHENTICATED',
      'x-strangler-subject',
    ],
  ])('refuses %s with %s naming %s', (_name, req, code, header) => {
    expect(gateDecision(req, true)).toMatchObject({
      ok: false,
      code,
      header,
    });
  });
});

describe('readableDevices', () => {
  const owners = new Map<string, string | null>([
    ['a-1', 'alice'],
    ['b-1', 'bob'],
    ['nobody-1', null],
  ]);
  const ids = ['a-1', 'b-1', 'nobody-1', 'legacy-heating-7'];
  const as = (subject: string, ...scopes: string[]): Access => {
    const d = gateDecision({ ingest: false, headers: headers(subject, ...scopes) }, true);
    if (!d.ok) throw new Error(d.detail);
    return d.access;
  };

  it.each<[string, Access, string[]]>([
    ['alice: her own only', as('alice'), ['a-1']],
    ['bob: his own only', as('bob'), ['b-1']],
    ['an operator: every device, provisioned or not', as('ops', IDENTITY_SCOPES.operator), ids],
    ['anyone (switch off): every device', ANYONE, ids],
  ])('%s', (_name, access, expected) => {
    expect([...readableDevices(access, ids, owners)]).toEqual(expected);
  });
});
