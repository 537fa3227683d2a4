import { exportJWK, generateKeyPair, type JSONWebKeySet } from 'jose';
import { jwksAction, JwksCache } from './jwks';

const o = { refreshMs: 1_000, cooldownMs: 100 };

describe('JWKS cache', () => {
  it.each([
    // hasKeys, loadedAt, attemptedAt, now, unknownKid → action
    [false, 0, 0, 5, false, 'fetch'],
    [false, 0, 10, 50, false, 'use'], // failed just now: no flood (refused as unavailable)
    [false, 0, 10, 110, false, 'fetch'],
    [true, 10, 10, 500, false, 'use'],
    [true, 10, 10, 1_010, false, 'use-and-refresh'],
    [true, 10, 1_000, 1_050, false, 'use'], // stale, but a refresh was just tried
    [true, 10, 10, 50, true, 'use'], // unknown kid within the cooldown
    [true, 10, 10, 110, true, 'fetch'],
  ] as const)(
    'keys %s loaded %d tried %d, at %d, unknown kid %s → %s',
    (hasKeys, loadedAt, attemptedAt, now, kid, action) => {
      expect(jwksAction({ hasKeys, loadedAt, attemptedAt }, now, o, kid)).toBe(action);
    },
  );

  it('keeps serving cached keys while the endpoint is down, and rotates when it is back', async () => {
    const pair = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' };
    let set: JSONWebKeySet | undefined = { keys: [jwk] };
    let t = 1_000;
    let loads = 0;
    const errors: unknown[] = [];
    const cache = new JwksCache({
      load: async () => {
        loads++;
        if (!set) throw new Error('503');
        return set;
      },
      ...o,
      now: () => t,
      onLoadError: (e) => errors.push(e),
    });
    const header = { alg: 'ES256', kid: 'k1' };
    const token = { payload: '', signature: '' } as never;
    await expect(cache.getKey(header, token)).resolves.toBeDefined();
    set = undefined; // outage
    t += 5_000; // stale: a background refresh fails, the cached key still serves
    await expect(cache.getKey(header, token)).resolves.toBeDefined();
    await expect(cache.getKey({ alg: 'ES256', kid: 'k2' }, token)).rejects.toThrow(/could not be fetched \(503\)/);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    const n = loads;
    await expect(cache.getKey({ alg: 'ES256', kid: 'k2' }, token)).rejects.toThrow(); // within the cooldown: no fetch
    expect(loads).toBe(n);
    const pair2 = await generateKeyPair('ES256');
    set = { keys: [{ ...(await exportJWK(pair2.publicKey)), kid: 'k2', alg: 'ES256' }] }; // back, k1 retired
    t += 200;
    await expect(cache.getKey({ alg: 'ES256', kid: 'k2' }, token)).resolves.toBeDefined();
    await expect(cache.getKey(header, token)).rejects.toThrow(/no applicable key|matching/i);
  });
});
