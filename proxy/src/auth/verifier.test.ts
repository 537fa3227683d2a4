import { generateKeyPair, SignJWT, type JWTVerifyGetKey } from 'jose';
import { TokenVerifier } from './verifier';

describe('TokenVerifier: verified-token cache', () => {
  it('verifies a token once, then serves it from the cache until its expiry (plus skew)', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    let keyLookups = 0;
    const getKey: JWTVerifyGetKey = async () => {
      keyLookups++;
      return publicKey;
    };
    let t = 1_000_000_000_000;
    const v = new TokenVerifier({ issuer: 'iss', getKey, clockSkewSeconds: 10, cacheSize: 2, now: () => t });
    const exp = Math.floor(t / 1000) + 60;
    const token = await new SignJWT({ sub: 's', aud: 'a', exp })
      .setIssuer('iss')
      .setProtectedHeader({ alg: 'RS256' })
      .sign(privateKey);
    expect(await v.verify(token)).toEqual({ claims: { sub: 's', aud: ['a'], exp, scopes: [] } });
    expect(await v.verify(token)).toHaveProperty('claims');
    expect(v.cached(token)).toBeDefined();
    expect(keyLookups).toBe(1);
    t += 65_000; // within the skew
    expect(v.cached(token)).toBeDefined();
    t += 10_000;
    expect(v.cached(token)).toBeUndefined();
    expect(await v.verify(token)).toEqual({ refused: 'the token has expired', cause: expect.anything() });
  });
});
