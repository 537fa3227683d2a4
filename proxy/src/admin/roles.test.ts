import { createLogger } from '@warmhouse/shared';
import request from 'supertest';
import { loadProxyConfig } from '../config';
import type { RunningStrangler } from '../server';
import { startTestIssuer, type TestIssuer } from '../testing/issuer';
import { createStranglerFixture, type StranglerFixture } from '../testing/strangler';
import { startUpstream, type TestUpstream } from '../testing/upstreams';
import { ADMIN_ROLES } from './access';

const TOKEN = 'roles-admin-token-0123456789';
const ADMIN_AUDIENCE = 'urn:strangler:admin';
const logger = createLogger('admin-roles-test', 'silent');
const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

/** People's tokens at the admin API: the proxy's own verifier, an in-process issuer (jose keys), a real proxy. */
describe('admin API with people (OIDC roles)', () => {
  let issuer: TestIssuer;
  let mono: TestUpstream;
  let fixture: StranglerFixture;
  let s: RunningStrangler;
  let operator: string;
  let viewer: string;

  beforeAll(async () => {
    issuer = await startTestIssuer(ADMIN_AUDIENCE);
    mono = await startUpstream('monolith');
    fixture = createStranglerFixture({
      name: 'admin-roles',
      token: TOKEN,
      logger,
      routes: {
        upstreams: [
          { name: 'monolith', url: mono.url },
          { name: 'device-management', url: mono.url },
        ],
        routes: [{ id: 'get', methods: ['GET'], path: '/api/heating/:id', target: 'monolith' }],
      },
      env: {
        PROXY_OIDC_ISSUER: issuer.issuer,
        PROXY_OIDC_AUDIENCE: 'urn:warm-house:api',
        PROXY_ADMIN_OIDC_AUDIENCE: ADMIN_AUDIENCE,
      },
    });
    s = await fixture.start();
    operator = await issuer.token({ sub: 'user-alice', client_id: 'warm-house-web', roles: [ADMIN_ROLES.operator] });
    viewer = await issuer.token({ sub: 'user-bob', client_id: 'warm-house-web', roles: [ADMIN_ROLES.viewer] });
  });
  afterAll(async () => {
    await s?.stop();
    fixture?.remove();
    await mono?.close();
    await issuer?.close();
  });

  const toggle = (headers: Record<string, string>, target: string) =>
    request(s.adminUrl)
      .put('/api/routes/get/target')
      .set(headers)
      .set('X-Strangler-Actor', 'someone-else')
      .send({ target, reason: `to ${target}` });

  it('lets an operator change a route, audited with the subject and client', async () => {
    await toggle(bearer(operator), 'device-management').expect(200);
    const audit = await request(s.adminUrl).get('/api/audit?route=get').set(bearer(viewer)).expect(200);
    expect(audit.body.entries.at(-1)).toMatchObject({
      actor: 'oidc:user-alice',
      subject: 'user-alice',
      clientId: 'warm-house-web',
      source: 'admin-api',
      to: 'device-management',
    });
    expect(audit.body.entries.at(-1)).not.toHaveProperty('declaredActor');
  });

  it('lets a viewer read but not change (403 insufficient_scope naming the role)', async () => {
    await request(s.adminUrl).get('/api/routes').set(bearer(viewer)).expect(200);
    const r = await toggle(bearer(viewer), 'monolith').expect(403);
    expect(r.headers['www-authenticate']).toMatch(/^Bearer realm="strangler-admin", error="insufficient_scope"/);
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(r.body).toMatchObject({
      code: 'PROXY_ERR_ADMIN_FORBIDDEN',
      status: 403,
      detail: expect.stringMatching(/needs role strangler:operator; the token grants strangler:viewer/),
      required: [ADMIN_ROLES.operator],
      need: 'change',
    });
    const none = await issuer.token({ sub: 'user-carol' });
    await request(s.adminUrl).get('/api/routes').set(bearer(none)).expect(403);
  });

  it.each([
    ['no token', {}, /no bearer token was sent/],
    ['an expired token', 'expired', /the token has expired/],
    ['a token for another audience', 'api', /audience \(urn:warm-house:api\) is not urn:strangler:admin/],
    ['a malformed token', bearer('not.a.jwt'), /malformed/],
  ])('answers 401 to %s, saying why', async (_name, kind, reason) => {
    const now = Math.floor(Date.now() / 1000);
    const headers =
      kind === 'expired'
        ? bearer(await issuer.token({ roles: [ADMIN_ROLES.operator], iat: now - 900, exp: now - 600 }))
        : kind === 'api'
          ? bearer(await issuer.token({ roles: [ADMIN_ROLES.operator], aud: 'urn:warm-house:api' }))
          : (kind as Record<string, string>);
    const r = await request(s.adminUrl).get('/api/routes').set(headers).expect(401);
    expect(r.body).toMatchObject({ code: 'PROXY_ERR_UNAUTHORIZED', detail: expect.stringMatching(reason) });
    expect(r.headers['www-authenticate']).toMatch(/^Bearer realm="strangler-admin"/);
    expect(r.headers['www-authenticate']).toContain(`error_description="${r.body.detail}"`);
  });

  it('keeps the shared token (full rights), audited as token:admin with the declared name', async () => {
    await toggle(bearer(TOKEN), 'monolith').expect(200);
    const audit = await request(s.adminUrl).get('/api/audit?route=get').set(bearer(TOKEN)).expect(200);
    expect(audit.body.entries.at(-1)).toMatchObject({ actor: 'token:admin', declaredActor: 'someone-else' });
    expect(audit.body.entries.at(-1)).not.toHaveProperty('subject');
  });
});

describe('PROXY_ADMIN_* identity settings', () => {
  const base = { PROXY_ADMIN_TOKEN: TOKEN, MONOLITH_URL: 'http://127.0.0.1:9' };

  it('needs the issuer for an admin audience, a claim name for the roles claim', () => {
    expect(() => loadProxyConfig({ ...base, PROXY_ADMIN_OIDC_AUDIENCE: ADMIN_AUDIENCE })).toThrow(
      /PROXY_ADMIN_OIDC_AUDIENCE: set, but PROXY_OIDC_ISSUER is not/,
    );
    expect(() => loadProxyConfig({ ...base, PROXY_ADMIN_ROLES_CLAIM: 'roles claim' })).toThrow(
      /PROXY_ADMIN_ROLES_CLAIM: must be a claim name/,
    );
    expect(loadProxyConfig(base).PROXY_ADMIN_ROLES_CLAIM).toBe('roles');
  });

  it('runs without the shared token when people are accepted', () => {
    const oidc = { PROXY_OIDC_ISSUER: 'http://127.0.0.1:9', PROXY_OIDC_AUDIENCE: 'api' };
    const c = loadProxyConfig({ ...oidc, MONOLITH_URL: base.MONOLITH_URL, PROXY_ADMIN_OIDC_AUDIENCE: ADMIN_AUDIENCE });
    expect([c.PROXY_ADMIN_TOKEN, c.PROXY_ADMIN_OIDC_AUDIENCE]).toEqual([undefined, ADMIN_AUDIENCE]);
  });
});
