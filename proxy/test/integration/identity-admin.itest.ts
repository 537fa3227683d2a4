import os from 'node:os';
import {
  startIdentityProvider,
  type IdentityProviderUnderTest,
} from '@warmhouse/identity-provider/src/testing/harness';
import { TEST_PORT_BASE } from '../../../test/stack-endpoints';
import { startTestStrangler, type TestStrangler } from '../../src/testing/strangler';
import { startUpstream, type TestUpstream } from '../../src/testing/upstreams';

const SHARED = 'identity-admin-token-0123456789';

/**
 * People at the admin API with the real demo identity provider (its own process): alice (`strangler:operator`)
 * changes a route and is audited by subject, bob (`strangler:viewer`) reads and is refused a change, the shared
 * token keeps working for automation and is audited as `token:admin`.
 */
describe('admin API roles with the real identity provider', () => {
  let idp: IdentityProviderUnderTest;
  let service: TestUpstream;
  let strangler: TestStrangler;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    idp = await startIdentityProvider(TEST_PORT_BASE + 91);
    process.stdout.write(`identity provider ready in ${idp.readyMs} ms (load ${os.loadavg()[0]!.toFixed(1)})\n`);
    service = await startUpstream('device-management');
    strangler = await startTestStrangler({
      name: 'identity-admin',
      token: SHARED,
      routes: {
        defaultTarget: 'monolith',
        upstreams: [
          { name: 'monolith', url: service.url },
          { name: 'device-management', url: service.url },
        ],
        routes: [{ id: 'devices-api', path: '/api/v1/devices/*', target: 'monolith' }],
      },
      env: {
        PROXY_OIDC_ISSUER: idp.issuer,
        PROXY_OIDC_AUDIENCE: idp.audience,
        PROXY_ADMIN_OIDC_AUDIENCE: idp.audience,
      },
    });
    alice = await idp.userToken('alice', ['devices:read']);
    bob = await idp.userToken('bob', ['devices:read']);
  });
  afterAll(async () => {
    await strangler?.stop();
    await service?.close();
    await idp?.stop();
  });

  const admin = (path: string, init: { token?: string; method?: string; body?: unknown } = {}) =>
    fetch(`${strangler.adminUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.body ? { 'content-type': 'application/json', 'x-strangler-actor': 'release-bot' } : {}),
      },
      body: init.body ? JSON.stringify(init.body) : undefined,
    });
  const toggle = (token: string | undefined, target: string) =>
    admin('/api/routes/devices-api/target', { token, method: 'PUT', body: { target, reason: `to ${target}` } });
  const lastAudit = async () => {
    const res = await admin('/api/audit?route=devices-api', { token: SHARED });
    const { entries } = (await res.json()) as { entries: Array<Record<string, unknown>> };
    return entries.at(-1);
  };

  it("changes a route with alice's token, audited with her subject and client", async () => {
    expect((await toggle(alice, 'device-management')).status).toBe(200);
    expect(await lastAudit()).toMatchObject({
      actor: 'oidc:user-alice',
      subject: 'user-alice',
      clientId: 'warm-house-web',
      source: 'admin-api',
      action: 'route.retargeted',
      to: 'device-management',
    });
  });

  it("reads with bob's token and refuses his change with 403 insufficient_scope", async () => {
    expect((await admin('/api/routes', { token: bob })).status).toBe(200);
    const res = await toggle(bob, 'monolith');
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toMatch(/error="insufficient_scope"/);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({
      type: 'urn:warmhouse:problem:proxy-err-admin-forbidden',
      code: 'PROXY_ERR_ADMIN_FORBIDDEN',
      detail: expect.stringMatching(/strangler:operator/),
      required: ['strangler:operator'],
    });
    expect(await lastAudit()).toMatchObject({ actor: 'oidc:user-alice' }); // nothing was written for bob
  });

  it('answers 401 without a token', async () => {
    const res = await toggle(undefined, 'monolith');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="strangler-admin"/);
    expect(await res.json()).toMatchObject({ code: 'PROXY_ERR_UNAUTHORIZED', status: 401 });
  });

  it('keeps the shared token for automation, audited as token:admin with its declared name', async () => {
    expect((await toggle(SHARED, 'monolith')).status).toBe(200);
    expect(await lastAudit()).toMatchObject({ actor: 'token:admin', declaredActor: 'release-bot', to: 'monolith' });
  });
});
