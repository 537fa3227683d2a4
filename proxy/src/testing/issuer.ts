import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type KeyLike } from 'jose';

/** A signing key of the test issuer. */
export interface TestKey {
  readonly kid: string;
  readonly privateKey: KeyLike;
  readonly publicJwk: JWK;
}

/** How the test issuer's JWKS endpoint behaves. */
export type JwksMode = 'up' | 'down' | 'hang';

/**
 * A test OpenID issuer on a free loopback port: serves discovery and a JWKS whose keys and behaviour the test
 * changes (publish a rotated key, answer 503, never answer), and signs tokens with its keys.
 */
export interface TestIssuer {
  readonly issuer: string;
  readonly jwksUri: string;
  /** JWKS requests served so far. */
  jwksFetches: number;
  mode: JwksMode;
  /** Keys published in the JWKS. */
  published: TestKey[];
  newKey(kid: string): Promise<TestKey>;
  /** A signed token: `sub`, `aud`, `exp` in 5 minutes, `iat` now unless `claims` says otherwise. */
  token(claims?: JWTPayload, options?: { key?: TestKey; header?: Record<string, unknown> }): Promise<string>;
  close(): Promise<void>;
}

export async function startTestIssuer(audience: string): Promise<TestIssuer> {
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ issuer: self.issuer, jwks_uri: self.jwksUri }));
    }
    self.jwksFetches++;
    if (self.mode === 'hang') return void hanging.add(res);
    if (self.mode === 'down') {
      res.writeHead(503);
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: self.published.map((k) => k.publicJwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const newKey = async (kid: string): Promise<TestKey> => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
  };
  const first = await newKey('key-1');
  const self: TestIssuer = {
    issuer: base,
    jwksUri: `${base}/jwks`,
    jwksFetches: 0,
    mode: 'up',
    published: [first],
    newKey,
    async token(claims = {}, options = {}) {
      const key = options.key ?? first;
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ sub: 'user-a', aud: audience, iss: base, iat: now, exp: now + 300, ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'at+jwt', ...options.header })
        .sign(key.privateKey);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return self;
}
