import net from 'node:net';
import { SignJWT, UnsecuredJWT } from 'jose';
import { bearerAuthenticator } from './auth/authenticator';
import { httpKeySetLoader, JwksCache } from './auth/jwks';
import { TokenVerifier } from './auth/verifier';
import { startTestProxy, type TestProxy } from './testing/harness';
import { startTestIssuer, type TestIssuer } from './testing/issuer';
import { monolithAndService, startUpstream, type TestUpstream } from './testing/upstreams';

const AUDIENCE = 'warm-house-api';

const ROUTES = [
  { id: 'devices', path: '/api/v1/devices/*', target: 'device-management', auth: { required: true } },
  {
    id: 'devices-admin',
    path: '/api/v1/admin/*',
    target: 'device-management',
    auth: { scopes: ['devices:admin'], audiences: ['warm-house-admin', AUDIENCE] },
  },
  { id: 'optional', path: '/api/v1/open/*', target: 'device-management', auth: { required: false } },
  { id: 'heating-get', methods: ['GET' as const], path: '/api/heating/:id', target: 'monolith' },
];

interface Answer {
  status: number;
  challenge: string | null;
  body: { code?: string; detail?: string };
}

describe('bearer tokens at the proxy (routes with auth)', () => {
  let issuer: TestIssuer;
  let mono: TestUpstream;
  let dm: TestUpstream;
  let p: TestProxy;

  beforeAll(async () => {
    issuer = await startTestIssuer(AUDIENCE);
    mono = await startUpstream('monolith');
    dm = await startUpstream('device-management');
    const jwks = new JwksCache({
      load: httpKeySetLoader({ issuer: issuer.issuer, timeoutMs: 300 }),
      refreshMs: 600_000,
      cooldownMs: 0,
    });
    const verifier = new TokenVerifier({
      issuer: issuer.issuer,
      getKey: jwks.getKey,
      clockSkewSeconds: 30,
      cacheSize: 100,
    });
    p = await startTestProxy(
      { upstreams: monolithAndService(mono.url, dm.url), routes: ROUTES },
      { authenticator: bearerAuthenticator(verifier, AUDIENCE) },
    );
  });
  afterAll(async () => {
    await p.close();
    await mono.close();
    await dm.close();
    await issuer.close();
  });
  beforeEach(() => {
    issuer.mode = 'up';
    mono.seen.length = 0;
    dm.seen.length = 0;
  });

  async function get(path: string, headers: Record<string, string> = {}): Promise<Answer> {
    const res = await fetch(`${p.url}${path}`, { headers });
    return {
      status: res.status,
      challenge: res.headers.get('www-authenticate'),
      body: (await res.json()) as Answer['body'],
    };
  }
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const now = () => Math.floor(Date.now() / 1000);

  it('anonymous on a required route: 401 with a Bearer challenge, no upstream contacted', async () => {
    const a = await get('/api/v1/devices/1');
    expect(a.status).toBe(401);
    expect(a.body.code).toBe('PROXY_ERR_AUTH_REQUIRED');
    expect(a.challenge).toBe('Bearer realm="warm-house", error_description="no bearer token was sent"');
    expect(dm.seen).toHaveLength(0);
  });

  it('a valid token passes: identity in the proxy’s own fields (client copies replaced), token not forwarded', async () => {
    const token = await issuer.token({ sub: 'user-a', scope: 'openid devices:read', client_id: 'web' });
    const a = await get('/api/v1/devices/1', { ...bearer(token), 'x-strangler-subject': 'admin' });
    expect(a.status).toBe(200);
    const h = dm.seen[0]!.headers;
    expect([h['x-strangler-subject'], h['x-strangler-client-id'], h['x-strangler-scopes']]).toEqual([
      'user-a',
      'web',
      'openid devices:read',
    ]);
    expect(dm.seen[0]!.rawHeaders.filter((n) => n.toLowerCase() === 'x-strangler-subject')).toHaveLength(1);
    expect(h.authorization).toBeUndefined();
  });

  const badTokens: Array<[string, () => Promise<string>, RegExp]> = [
    ['expired', () => issuer.token({ exp: now() - 120, iat: now() - 600 }), /expired/],
    ['not yet valid (nbf)', () => issuer.token({ nbf: now() + 600 }), /not valid yet/],
    [
      'for another audience',
      () => issuer.token({ aud: 'someone-else' }),
      /audience \(someone-else\) is not warm-house-api/,
    ],
    ['from another issuer', () => issuer.token({ iss: 'https://evil.example' }), /issuer/],
    ['without exp', () => issuer.token({ exp: undefined }), /exp claim/],
    [
      'unsigned (alg: none)',
      async () => new UnsecuredJWT({ sub: 'user-a', aud: AUDIENCE, iss: issuer.issuer, exp: now() + 60 }).encode(),
      /algorithm is not allowed/,
    ],
    [
      'HMAC signed with the public key (key confusion)',
      () =>
        new SignJWT({ sub: 'user-a', aud: AUDIENCE, exp: now() + 60 })
          .setIssuer(issuer.issuer)
          .setProtectedHeader({ alg: 'HS256', kid: 'key-1' })
          .sign(new TextEncoder().encode(JSON.stringify(issuer.published[0]!.publicJwk))),
      /algorithm is not allowed/,
    ],
    [
      'signed with an unknown key (kid)',
      async () => issuer.token({}, { key: await issuer.newKey('rogue') }),
      /kid\) is unknown/,
    ],
    [
      'signed with another key under a known kid',
      async () => issuer.token({}, { key: { ...(await issuer.newKey('key-1')) } }),
      /signature does not verify/,
    ],
    ['malformed', async () => 'not.a.jwt', /malformed/],
    ['truncated', async () => (await issuer.token()).split('.').slice(0, 2).join('.'), /malformed/],
  ];

  it.each(badTokens)(
    'a token %s is refused: 401 invalid_token saying why, no upstream contacted',
    async (_case, make, why) => {
      const a = await get('/api/v1/devices/1', bearer(await make()));
      expect(a.status).toBe(401);
      expect(a.body.code).toBe('PROXY_ERR_INVALID_TOKEN');
      expect(a.body.detail).toMatch(why);
      expect(a.challenge).toMatch(/^Bearer realm="warm-house", error="invalid_token", error_description="[^"]+"$/);
      expect(a.challenge).toMatch(why);
      expect(dm.seen).toHaveLength(0);
    },
  );

  it.each([
    ['Basic credentials', { authorization: 'Basic dXNlcjpwYXNz' }, /not 'Bearer <token>'/],
    ['an empty bearer', { authorization: 'Bearer ' }, /not 'Bearer <token>'/],
  ])('an Authorization field with %s is refused (401)', async (_case, headers, why) => {
    const a = await get('/api/v1/devices/1', headers);
    expect([a.status, a.body.code]).toEqual([401, 'PROXY_ERR_INVALID_TOKEN']);
    expect(a.challenge).toMatch(why);
    expect(dm.seen).toHaveLength(0);
  });

  it('two Authorization fields are refused (401)', async () => {
    const token = await issuer.token();
    const raw = await new Promise<string>((resolve, reject) => {
      const s = net.connect(p.port, '127.0.0.1', () =>
        s.write(
          `GET /api/v1/devices/1 HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer ${token}\r\nAuthorization: Bearer x\r\nConnection: close\r\n\r\n`,
        ),
      );
      let got = '';
      s.on('data', (c: Buffer) => (got += c.toString('latin1')));
      s.on('end', () => resolve(got));
      s.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 401/);
    expect(raw).toMatch(/more than one Authorization header/);
    expect(dm.seen).toHaveLength(0);
  });

  it('a token without a required scope: 403 insufficient_scope naming the scopes; with it, 200', async () => {
    const a = await get('/api/v1/admin/x', bearer(await issuer.token({ scope: 'devices:read' })));
    expect([a.status, a.body.code]).toEqual([403, 'PROXY_ERR_INSUFFICIENT_SCOPE']);
    expect(a.challenge).toBe(
      'Bearer realm="warm-house", error="insufficient_scope", error_description="the token lacks scope devices:admin", scope="devices:admin"',
    );
    expect(dm.seen).toHaveLength(0);
    const ok = await get(
      '/api/v1/admin/x',
      bearer(await issuer.token({ scope: 'devices:admin', aud: 'warm-house-admin' })),
    );
    expect(ok.status).toBe(200);
  });

  it('optional auth: anonymous passes without identity, a bad token is still refused', async () => {
    expect((await get('/api/v1/open/1', { 'x-strangler-subject': 'forged' })).status).toBe(200);
    expect(dm.seen[0]!.headers['x-strangler-subject']).toBeUndefined();
    expect((await get('/api/v1/open/1', bearer('junk'))).status).toBe(401);
    expect(dm.seen).toHaveLength(1);
  });

  it('a route without auth (the legacy contract) stays anonymous and untouched', async () => {
    expect((await get('/api/heating/1')).status).toBe(200);
    expect((await get('/api/heating/1', { authorization: 'Basic abc' })).status).toBe(200);
    expect(mono.seen[1]!.headers.authorization).toBe('Basic abc');
  });

  it('JWKS down: tokens whose key is cached still pass; a token with an unknown key is refused (401)', async () => {
    const token = await issuer.token({ sub: 'cached-key' });
    expect((await get('/api/v1/devices/1', bearer(await issuer.token()))).status).toBe(200); // key-1 cached
    issuer.mode = 'down';
    expect((await get('/api/v1/devices/1', bearer(token))).status).toBe(200);
    const unknown = await get('/api/v1/devices/1', bearer(await issuer.token({}, { key: await issuer.newKey('new') })));
    expect(unknown.status).toBe(401);
    expect(unknown.challenge).toMatch(/signing key is unknown and the issuer's keys could not be fetched/);
  });

  it('JWKS slow: a token with an unknown key is refused once the fetch times out (401)', async () => {
    issuer.mode = 'hang';
    const a = await get('/api/v1/devices/1', bearer(await issuer.token({}, { key: await issuer.newKey('slow') })));
    expect(a.status).toBe(401);
    expect(a.challenge).toMatch(/could not be fetched/);
    expect(dm.seen).toHaveLength(0);
  });

  it('key rotation: a token signed with a newly published key passes after one refetch', async () => {
    const rotated = await issuer.newKey('key-2');
    issuer.published = [issuer.published[0]!, rotated];
    const before = issuer.jwksFetches;
    expect((await get('/api/v1/devices/1', bearer(await issuer.token({}, { key: rotated })))).status).toBe(200);
    expect(issuer.jwksFetches).toBe(before + 1);
  });

  it('upgrades on a route with auth are authenticated too', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const s = net.connect(p.port, '127.0.0.1', () =>
        s.write('GET /api/v1/devices/ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'),
      );
      let got = '';
      s.on('data', (c: Buffer) => (got += c.toString('latin1')));
      s.on('end', () => resolve(got));
      s.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 401 Unauthorized/);
    expect(raw).toMatch(/www-authenticate: Bearer realm="warm-house"/);
    expect(dm.seen).toHaveLength(0);
  });
});

describe('a route requiring auth on a proxy without an issuer', () => {
  it('answers 500 PROXY_ERR_AUTH_NOT_CONFIGURED and contacts no upstream', async () => {
    const dm = await startUpstream('device-management');
    const p = await startTestProxy({ upstreams: monolithAndService(dm.url, dm.url), routes: ROUTES });
    try {
      const res = await fetch(`${p.url}/api/v1/devices/1`);
      expect(res.status).toBe(500);
      expect(((await res.json()) as Answer['body']).code).toBe('PROXY_ERR_AUTH_NOT_CONFIGURED');
      expect(dm.seen).toHaveLength(0);
      expect((await fetch(`${p.url}/api/v1/open/1`)).status).toBe(200);
    } finally {
      await p.close();
      await dm.close();
    }
  });
});
