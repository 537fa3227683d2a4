import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { JwksUnavailableError } from './reasons';

/** Options of {@link JwksCache}. */
export interface JwksCacheOptions {
  /** Fetches the issuer's current key set (throws when it cannot). */
  load: () => Promise<JSONWebKeySet>;
  /** A key set older than this is refreshed in the background; its keys keep serving meanwhile (ms). */
  refreshMs: number;
  /** After a fetch, an unknown `kid` waits this long before it may trigger another (ms). */
  cooldownMs: number;
  /** Told when a fetch fails (the cached keys, if any, keep serving). */
  onLoadError?: (err: unknown) => void;
  now?: () => number;
}

/** What the cache does for a key request: use what it has, refresh in the background too, or wait for a fetch. */
export type JwksAction = 'use' | 'use-and-refresh' | 'fetch';

/**
 * The decision of {@link JwksCache} (pure): with no keys, fetch; an unknown `kid` fetches once the cooldown since
 * the last attempt has passed (key rotation); a stale set is refreshed in the background while it keeps serving.
 */
export function jwksAction(
  s: { readonly hasKeys: boolean; readonly loadedAt: number; readonly attemptedAt: number },
  now: number,
  o: { readonly refreshMs: number; readonly cooldownMs: number },
  unknownKid: boolean,
): JwksAction {
  if (!s.hasKeys) return now - s.attemptedAt >= o.cooldownMs || s.attemptedAt === 0 ? 'fetch' : 'use';
  if (unknownKid) return now - s.attemptedAt >= o.cooldownMs ? 'fetch' : 'use';
  return now - s.loadedAt >= o.refreshMs && now - s.attemptedAt >= o.cooldownMs ? 'use-and-refresh' : 'use';
}

/**
 * The issuer's signing keys, cached and rotated: fetched on first use, refreshed in the background when stale,
 * fetched again for an unknown `kid` (at most once per cooldown). A failed fetch keeps the keys it had, so a JWKS
 * outage never stops tokens signed with a cached key; only tokens whose key is not cached are refused.
 */
export class JwksCache {
  private keys: JWTVerifyGetKey | undefined;
  private loadedAt = 0;
  private attemptedAt = 0;
  private lastError: unknown;
  private inFlight: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: JwksCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  /** For jose's `jwtVerify`: the key for a token's protected header. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const o = this.options;
    let action = jwksAction(this.state(), this.now(), o, false);
    if (action === 'fetch') await this.reload();
    else if (action === 'use-and-refresh') void this.reload();
    const keys = this.keys;
    if (!keys) throw this.unavailable();
    try {
      return await keys(header, token);
    } catch (err) {
      if (!(err instanceof Error) || (err as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw err;
      if (this.inFlight)
        await this.inFlight; // a refresh under way may bring the key
      else if (this.keys === keys) {
        action = jwksAction(this.state(), this.now(), o, true);
        if (action !== 'fetch') throw this.lastError === undefined ? err : this.unavailable();
        await this.reload();
      }
      if (this.keys === keys) throw this.unavailable(); // the fetch failed: nothing new to try
      return this.keys!(header, token);
    }
  };

  private state() {
    return { hasKeys: this.keys !== undefined, loadedAt: this.loadedAt, attemptedAt: this.attemptedAt };
  }

  private unavailable(): JwksUnavailableError {
    const why = this.lastError instanceof Error ? this.lastError.message : 'no key set was fetched yet';
    return new JwksUnavailableError(`the issuer's keys could not be fetched (${why})`, { cause: this.lastError });
  }

  /** One fetch at a time; concurrent callers share it. Never rejects. */
  private reload(): Promise<void> {
    this.inFlight ??= (async () => {
      this.attemptedAt = this.now();
      try {
        const set = await this.options.load();
        this.keys = createLocalJWKSet(set);
        this.loadedAt = this.now();
        this.lastError = undefined;
      } catch (err) {
        this.lastError = err;
        this.options.onLoadError?.(err);
      } finally {
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }
}

/** Options of {@link httpKeySetLoader}. */
export interface KeySetSource {
  /** The issuer (its discovery document is `<issuer>/.well-known/openid-configuration`). */
  readonly issuer: string;
  /** The JWKS URL; without it, the discovery document's `jwks_uri` (fetched once). */
  readonly jwksUri?: string;
  /** Each HTTP fetch at most (ms): a slow JWKS endpoint counts as down. */
  readonly timeoutMs: number;
}

async function getJson(url: string, timeoutMs: number): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  return res.json();
}

/** Fetches the key set over HTTP, finding its URL by OpenID discovery when it is not configured. */
export function httpKeySetLoader(source: KeySetSource): () => Promise<JSONWebKeySet> {
  let jwksUri = source.jwksUri;
  return async () => {
    if (jwksUri === undefined) {
      const discovery = `${source.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
      const doc = (await getJson(discovery, source.timeoutMs)) as { jwks_uri?: unknown };
      if (typeof doc.jwks_uri !== 'string') throw new Error(`${discovery} names no jwks_uri`);
      jwksUri = doc.jwks_uri;
    }
    const set = (await getJson(jwksUri, source.timeoutMs)) as JSONWebKeySet;
    if (!set || !Array.isArray(set.keys)) throw new Error(`${jwksUri} is not a JWK set`);
    return set;
  };
}
