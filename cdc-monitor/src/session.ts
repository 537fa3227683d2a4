import { createHmac, hkdfSync } from 'node:crypto';
import { EncryptJWT, errors, jwtDecrypt, type JWTPayload } from 'jose';

// Sessions of people signed in with OIDC live in the browser, sealed (JWE, `dir` + A256GCM: encrypted and
// authenticated) with keys derived from MONITOR_SESSION_SECRET: any replica of the monitor opens a cookie another
// one sealed, and no replica keeps a session map. The transient state of a sign-in (PKCE verifier, state, nonce)
// travels the same way in a second, short-lived cookie.

/** A person signed in to the dashboard. */
export interface PersonSession {
  /** the user's `sub` */
  readonly sub: string;
  /** a display name, when the provider gave one */
  readonly name?: string;
  readonly roles: readonly string[];
  /** the person's access token, relayed to the proxy's admin API for their changes */
  readonly accessToken: string;
  /** when the session (and so the access token) ends, epoch seconds */
  readonly expiresAt: number;
}

/** What a sign-in remembers between the redirect to the provider and the callback. */
export interface LoginState {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

/** A cookie value opened: its content, or why not (`expired`: was valid; `invalid`: tampered, foreign, garbage). */
export type Opened<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: 'expired' | 'invalid' };

/** Larger sealed sessions are refused: browsers keep about 4,096 bytes per cookie, name and attributes included. */
export const MAX_SEALED_BYTES = 3800;

/** Lifetime of the sign-in cookie: the time a person has to finish signing in at the provider. */
export const LOGIN_STATE_SECONDS = 600;

const PURPOSES = { session: 'warm-house-dashboard session v1', login: 'warm-house-dashboard login v1' } as const;
type Purpose = keyof typeof PURPOSES;

/** Options of {@link createSessionSealer}. */
export interface SessionSealerOptions {
  /** MONITOR_SESSION_SECRET: the same on every replica */
  readonly secret: string;
  /** the clock, epoch ms (tests move it) */
  readonly now?: () => number;
}

/** Seals and opens the dashboard's session and sign-in cookies; derives the session's CSRF value. */
export function createSessionSealer({ secret, now = Date.now }: SessionSealerOptions) {
  // one key per purpose: a sign-in cookie never opens as a session, nor the other way round
  const keyOf = (purpose: Purpose) => new Uint8Array(hkdfSync('sha256', secret, 'cdc-monitor', PURPOSES[purpose], 32));
  const keys = { session: keyOf('session'), login: keyOf('login') };
  const csrfKey = Buffer.from(hkdfSync('sha256', secret, 'cdc-monitor', 'warm-house-dashboard csrf v1', 32));
  const seconds = () => Math.floor(now() / 1000);

  const seal = (purpose: Purpose, payload: JWTPayload, expiresAt: number) =>
    new EncryptJWT(payload)
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setIssuedAt(seconds())
      .setAudience(PURPOSES[purpose])
      .setExpirationTime(expiresAt)
      .encrypt(keys[purpose]);

  async function open(purpose: Purpose, value: string): Promise<Opened<JWTPayload>> {
    try {
      const { payload } = await jwtDecrypt(value, keys[purpose], {
        audience: PURPOSES[purpose],
        currentDate: new Date(now()),
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: ['A256GCM'],
      });
      return { ok: true, value: payload };
    } catch (err) {
      return { ok: false, reason: err instanceof errors.JWTExpired ? 'expired' : 'invalid' };
    }
  }

  return {
    /** The sealed cookie value of a session, valid until its `expiresAt`. */
    sealSession: (s: PersonSession) =>
      seal(
        'session',
        { sub: s.sub, roles: [...s.roles], at: s.accessToken, ...(s.name !== undefined ? { name: s.name } : {}) },
        s.expiresAt,
      ),
    async openSession(value: string): Promise<Opened<PersonSession>> {
      const opened = await open('session', value);
      if (!opened.ok) return opened;
      const p = opened.value;
      const roles = p.roles;
      if (typeof p.sub !== 'string' || typeof p.at !== 'string' || typeof p.exp !== 'number' || !Array.isArray(roles)) {
        return { ok: false, reason: 'invalid' };
      }
      return {
        ok: true,
        value: {
          sub: p.sub,
          roles: roles.filter((r): r is string => typeof r === 'string'),
          accessToken: p.at,
          expiresAt: p.exp,
          ...(typeof p.name === 'string' ? { name: p.name } : {}),
        },
      };
    },
    /** The sealed sign-in cookie, valid for {@link LOGIN_STATE_SECONDS}. */
    sealLogin: (l: LoginState) =>
      seal('login', { st: l.state, no: l.nonce, cv: l.codeVerifier }, seconds() + LOGIN_STATE_SECONDS),
    async openLogin(value: string): Promise<Opened<LoginState>> {
      const opened = await open('login', value);
      if (!opened.ok) return opened;
      const { st, no, cv } = opened.value;
      if (typeof st !== 'string' || typeof no !== 'string' || typeof cv !== 'string') {
        return { ok: false, reason: 'invalid' };
      }
      return { ok: true, value: { state: st, nonce: no, codeVerifier: cv } };
    },
    /**
     * The CSRF value of a session (the page carries it in a header with every change): an HMAC of the sealed
     * cookie, so every replica computes the same one and another site, which cannot read the cookie, cannot.
     */
    csrfOf: (sealedSession: string) => createHmac('sha256', csrfKey).update(sealedSession).digest('base64url'),
  };
}

/** The sealer made by {@link createSessionSealer}. */
export type SessionSealer = ReturnType<typeof createSessionSealer>;
