import { CONTRACT_CHECKS, preflight } from '@warmhouse/monolith-contract';
import {
  startIdentityProvider,
  type IdentityProviderUnderTest,
} from '@warmhouse/identity-provider/src/testing/harness';
import { startStandIn, type StandInUnderTest } from '../../../monolith-standin/test/standin-harness';
import { readTestEndpoints, TEST_PORT_BASE } from '../../../test/stack-endpoints';
import { startTestStrangler, type TestStrangler } from '../../src/testing/strangler';
import { startUpstream, type TestUpstream } from '../../src/testing/upstreams';

/**
 * Identity with the real identity provider (oidc-provider, packages/identity-provider, its own process): the proxy
 * verifies its tokens on the v1 routes (auth required), while the legacy heating contract stays anonymous. The v1
 * service is a recording upstream, so the test sees exactly what reaches it.
 */
describe('identity through the proxy with the real identity provider', () => {
  let idp: IdentityProviderUnderTest;
  let standIn: StandInUnderTest;
  let service: TestUpstream;
  let strangler: TestStrangler;

  beforeAll(async () => {
    idp = await startIdentityProvider(TEST_PORT_BASE + 90);
    standIn = await startStandIn(readTestEndpoints().postgres.superuserUrl, 'proxy_identity');
    service = await startUpstream('device-management');
    strangler = await startTestStrangler({
      name: 'identity',
      token: 'identity-test-token-0123456789',
      routes: {
        defaultTarget: 'monolith',
        upstreams: [
          { name: 'monolith', url: standIn.baseUrl },
          { name: 'device-management', url: service.url },
        ],
        routes: [
          { id: 'devices-api', path: '/api/v1/devices/*', target: 'device-management', auth: { required: true } },
          {
            id: 'telemetry-ingest',
            methods: ['POST'],
            path: '/api/v1/telemetry',
            target: 'device-management',
            auth: { scopes: ['telemetry:ingest'] },
          },
        ],
      },
      env: { PROXY_OIDC_ISSUER: idp.issuer, PROXY_OIDC_AUDIENCE: idp.audience },
    });
    await preflight({ baseUrl: strangler.proxyUrl });
  });
  afterAll(async () => {
    await strangler?.stop();
    await service?.close();
    await standIn?.stop();
    await idp?.stop();
  });
  beforeEach(() => {
    service.seen.length = 0;
  });

  const v1 = (init: RequestInit = {}) => fetch(`${strangler.proxyUrl}/api/v1/devices/1`, init);
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('anonymous on a v1 route: 401 with a Bearer challenge, the service never contacted', async () => {
    const res = await v1();
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="warm-house"/);
    expect(service.seen).toHaveLength(0);
  });

  for (const check of CONTRACT_CHECKS) {
    it(`the legacy contract still passes anonymously — ${check.name}`, () =>
      check.run({ baseUrl: strangler.proxyUrl }));
  }

  it("a demo user's token passes: the service gets the user as X-Strangler-Subject, not the token", async () => {
    const res = await v1({ headers: bearer(await idp.userToken('alice', ['devices:read'])) });
    expect(res.status).toBe(200);
    const h = service.seen[0]!.headers;
    expect([h['x-strangler-subject'], h['x-strangler-client-id'], h['x-strangler-scopes']]).toEqual([
      'user-alice',
      'warm-house-web',
      'devices:read',
    ]);
    expect(h.authorization).toBeUndefined();
  });

  it("the gateway's client-credentials token passes where its scope is required; a user's without it gets 403", async () => {
    const post = async (token: string) =>
      fetch(`${strangler.proxyUrl}/api/v1/telemetry`, { method: 'POST', headers: bearer(token), body: '[]' });
    const gateway = await post(await idp.gatewayToken(['telemetry:ingest']));
    expect(gateway.status).toBe(200);
    expect(service.seen[0]!.headers['x-strangler-subject']).toBe('gateway-demo');
    const user = await post(await idp.userToken('bob', ['devices:read']));
    expect(user.status).toBe(403);
    expect(user.headers.get('www-authenticate')).toMatch(/error="insufficient_scope".*scope="telemetry:ingest"/);
    expect(service.seen).toHaveLength(1);
  });

  it.each([
    ['tampered', async () => `${(await idp.userToken('alice', [])).slice(0, -4)}AAAA`, /signature/],
    [
      'unsigned',
      async () =>
        `${Buffer.from('{"alg":"none"}').toString('base64url')}.${(await idp.userToken('alice', [])).split('.')[1]}.`,
      /algorithm/,
    ],
    ['malformed', async () => 'abc', /malformed/],
  ])('a %s token is refused with 401 saying why, the service never contacted', async (_case, make, why) => {
    const res = await v1({ headers: bearer(await make()) });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(why);
    expect(service.seen).toHaveLength(0);
  });

  it('a client-sent X-Strangler-Dry-Run (or identity field) on a write does not reach the service', async () => {
    const res = await v1({
      method: 'PUT',
      headers: {
        ...bearer(await idp.userToken('alice', ['devices:write'])),
        'x-strangler-dry-run': '1',
        'x-strangler-subject': 'user-bob',
        'content-type': 'application/json',
      },
      body: '{}',
    });
    expect(res.status).toBe(200);
    const h = service.seen[0]!.headers;
    expect(h['x-strangler-dry-run']).toBeUndefined();
    expect(h['x-strangler-subject']).toBe('user-alice');
  });
});
