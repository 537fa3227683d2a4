import { jwtVerify, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { claimsOf, type VerifiedClaims } from './verdict';
import { reasonOf } from './reasons';

/** Signature algorithms accepted by default: asymmetric only (no `none`, no HMAC, so no key confusion). */
export const DEFAULT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'];

/** Options of {@link TokenVerifier}. */
export interface TokenVerifierOptions {
  /** The only issuer accepted (`iss`). */
  issuer: string;
  getKey: JWTVerifyGetKey;
  algorithms?: readonly string[];
  /** Tolerance on `exp`, `nbf` and `iat`, seconds. */
  clockSkewSeconds: number;
  /** Verified tokens kept at most (by token, until their expiry); 0: none kept. */
  cacheSize: number;
  now?: () => number;
  /** The claim read into `roles` (default `roles`; dots walk into objects). */
  rolesClaim?: string;
}

/** A token's verification: its claims, or why it is refused. */
export type TokenCheck = { readonly claims: VerifiedClaims } | { readonly refused: string; readonly cause?: unknown };

/**
 * Verifies JWT access tokens with jose (signature against the issuer's cached keys, `iss`, `exp`/`nbf`/`iat` within
 * the skew) and keeps the verified ones in a bounded cache keyed by the token, each until its `exp` (plus the
 * skew), so a client reusing its token costs one map lookup. Audience and scopes are the route's business
 * ({@link judgeClaims}).
 */
export class TokenVerifier {
  private readonly cache: LRUCache<string, VerifiedClaims> | undefined;
  private readonly now: () => number;
  private readonly algorithms: string[];

  constructor(private readonly options: TokenVerifierOptions) {
    this.now = options.now ?? Date.now;
    this.algorithms = [...(options.algorithms ?? DEFAULT_ALGORITHMS)];
    this.cache = options.cacheSize > 0 ? new LRUCache({ max: options.cacheSize }) : undefined;
  }

  /** The claims of a token verified before and not expired since; `undefined`: verify it. */
  cached(token: string): VerifiedClaims | undefined {
    const hit = this.cache?.get(token);
    if (hit === undefined) return undefined;
    if (this.now() / 1000 > hit.exp + this.options.clockSkewSeconds) {
      this.cache!.delete(token);
      return undefined;
    }
    return hit;
  }

  /** Verifies a token (never rejects). */
  async verify(token: string): Promise<TokenCheck> {
    const hit = this.cached(token);
    if (hit) return { claims: hit };
    try {
      const { payload } = await jwtVerify(token, this.options.getKey, {
        issuer: this.options.issuer,
        algorithms: this.algorithms,
        clockTolerance: this.options.clockSkewSeconds,
        requiredClaims: ['exp', 'sub'],
        currentDate: new Date(this.now()),
      });
      const claims = claimsOf(payload, this.options.rolesClaim);
      if (typeof claims === 'string') return { refused: claims };
      this.cache?.set(token, claims);
      return { claims };
    } catch (err) {
      return { refused: reasonOf(err), cause: err };
    }
  }
}
