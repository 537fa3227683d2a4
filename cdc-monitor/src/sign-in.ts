import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeJwt } from 'jose';
import type { Logger } from '@warmhouse/shared';
import type { OidcSettings } from './config';
import type { OidcFlow, SignedIn } from './oidc-flow';
import { rolesFromClaims } from './roles';
import { MAX_SEALED_BYTES, type PersonSession, type SessionSealer } from './session';

/** The sealed session of a person signed in with OIDC. */
export const PERSON_COOKIE = 'cdc_monitor_person';
/** The sealed state of a sign-in under way (PKCE verifier, state, nonce), sent back only to `/auth/callback`. */
export const LOGIN_COOKIE = 'cdc_monitor_login';

/** Reads one cookie from a `Cookie` header. */
export function cookieOf(cookieHeader: string | undefined, name: string): string | undefined {
  for (const part of (cookieHeader ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

/** A `Set-Cookie` value: HttpOnly, SameSite=Lax (the provider's redirect back is a cross-site navigation). */
export function cookieHeader(
  name: string,
  value: string,
  o: { maxAgeSeconds: number; secure: boolean; path?: string },
): string {
  const attrs = [
    `Path=${o.path ?? '/'}`,
    `Max-Age=${Math.max(0, Math.floor(o.maxAgeSeconds))}`,
    'HttpOnly',
    'SameSite=Lax',
  ];
  return [`${name}=${value}`, ...attrs, ...(o.secure ? ['Secure'] : [])].join('; ');
}

/**
 * The session a sign-in gives, pure: roles from the access token when it is a JWT (what the proxy will read), else
 * from the ID token; it ends when the access token does (then the person signs in again), at most `maxSeconds`.
 */
export function sessionFromSignIn(
  signedIn: SignedIn,
  o: { rolesClaim: string; maxSeconds: number; nowSeconds: number },
): PersonSession {
  const sub = signedIn.idClaims.sub;
  if (typeof sub !== 'string' || sub === '') throw new Error('the ID token names no subject');
  let accessClaims: Record<string, unknown> | undefined;
  try {
    accessClaims = decodeJwt(signedIn.accessToken);
  } catch {
    accessClaims = undefined; // an opaque access token: the ID token's claims say the roles
  }
  const lifetime = Math.min(o.maxSeconds, signedIn.expiresIn ?? o.maxSeconds);
  const tokenExp = typeof accessClaims?.exp === 'number' ? accessClaims.exp : Infinity;
  const name = signedIn.idClaims.name ?? signedIn.idClaims.preferred_username;
  return {
    sub,
    roles: rolesFromClaims(accessClaims ?? signedIn.idClaims, o.rolesClaim),
    accessToken: signedIn.accessToken,
    expiresAt: Math.min(o.nowSeconds + lifetime, tokenExp),
    ...(typeof name === 'string' ? { name } : {}),
  };
}

/** A person's session read from the request: signed in, signed out for a reason, or no cookie at all. */
export type PersonLookup =
  | { readonly state: 'signed-in'; readonly session: PersonSession; readonly csrf: string }
  | { readonly state: 'expired' | 'invalid' }
  | { readonly state: 'none' };

/** What the sign-in answers besides redirects: the login page with a message. */
export type LoginPageOf = (message?: string) => string;

/** Options of {@link createPersonSignIn}. */
export interface PersonSignInOptions {
  readonly settings: OidcSettings;
  readonly flow: OidcFlow;
  readonly sealer: SessionSealer;
  readonly logger: Logger;
  readonly loginPage: LoginPageOf;
  readonly now?: () => number;
}

/**
 * The dashboard's OIDC sign-in over HTTP: `GET /auth/login` (to the provider, sign-in state in a sealed cookie),
 * `GET /auth/callback` (code exchange, the sealed session cookie, back to `/`), and reading the session of a request.
 */
export function createPersonSignIn({ settings, flow, sealer, logger, loginPage, now = Date.now }: PersonSignInOptions) {
  const secure = settings.publicUrl.protocol === 'https:';
  const html = (res: ServerResponse, status: number, message: string, cookies: string[] = []) => {
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
      ...(cookies.length > 0 ? { 'set-cookie': cookies } : {}),
    });
    res.end(loginPage(message));
  };
  const clearLogin = cookieHeader(LOGIN_COOKIE, '', { maxAgeSeconds: 0, secure, path: '/auth' });

  async function begin(res: ServerResponse) {
    let started;
    try {
      started = await flow.begin();
    } catch (err) {
      return html(res, 502, `The identity provider cannot be reached: ${messageOf(err)}`);
    }
    const sealed = await sealer.sealLogin(started.login);
    res.writeHead(303, {
      location: started.url.href,
      'cache-control': 'no-store',
      'set-cookie': cookieHeader(LOGIN_COOKIE, sealed, { maxAgeSeconds: 600, secure, path: '/auth' }),
    });
    res.end();
  }

  async function callback(req: IncomingMessage, res: ServerResponse, url: URL) {
    const refused = url.searchParams.get('error');
    if (refused) {
      const why = url.searchParams.get('error_description') ?? refused;
      return html(res, 401, `The identity provider did not sign you in: ${why}`, [clearLogin]);
    }
    const sealedLogin = cookieOf(req.headers.cookie, LOGIN_COOKIE);
    const login = sealedLogin === undefined ? undefined : await sealer.openLogin(sealedLogin);
    if (!login?.ok) {
      return html(res, 400, 'This sign-in expired or was started in another browser: sign in again.', [clearLogin]);
    }
    const callbackUrl = new URL(settings.redirectUrl);
    callbackUrl.search = url.search;
    let session: PersonSession;
    try {
      const signedIn = await flow.complete(callbackUrl, login.value);
      session = sessionFromSignIn(signedIn, {
        rolesClaim: settings.rolesClaim,
        maxSeconds: settings.maxSessionSeconds,
        nowSeconds: Math.floor(now() / 1000),
      });
    } catch (err) {
      logger.warn({ event: 'dashboard_sign_in_failed', err }, 'dashboard sign-in failed');
      return html(res, 401, `Sign-in failed: ${messageOf(err)}`, [clearLogin]);
    }
    const sealed = await sealer.sealSession(session);
    if (sealed.length > MAX_SEALED_BYTES) {
      return html(
        res,
        502,
        `Sign-in failed: the access token is too large for the session cookie (${sealed.length} bytes sealed, at most ${MAX_SEALED_BYTES}).`,
        [clearLogin],
      );
    }
    logger.info(
      { event: 'dashboard_sign_in', subject: session.sub, roles: session.roles, expiresAt: session.expiresAt },
      `${session.sub} signed in to the dashboard`,
    );
    const maxAgeSeconds = session.expiresAt - Math.floor(now() / 1000);
    res.writeHead(303, {
      location: '/',
      'cache-control': 'no-store',
      'set-cookie': [clearLogin, cookieHeader(PERSON_COOKIE, sealed, { maxAgeSeconds, secure })],
    });
    res.end();
  }

  return {
    /** The `Set-Cookie` value that ends a person's session. */
    clearSession: cookieHeader(PERSON_COOKIE, '', { maxAgeSeconds: 0, secure }),
    /** Answers `/auth/login` and `/auth/callback`; false for any other request. */
    async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
      if (req.method !== 'GET') return false;
      if (url.pathname === '/auth/login') await begin(res);
      else if (url.pathname === '/auth/callback') await callback(req, res, url);
      else return false;
      return true;
    },
    /** The person's session of a request, from its sealed cookie. */
    async lookup(cookies: string | undefined): Promise<PersonLookup> {
      const sealed = cookieOf(cookies, PERSON_COOKIE);
      if (sealed === undefined || sealed === '') return { state: 'none' };
      const opened = await sealer.openSession(sealed);
      if (!opened.ok) return { state: opened.reason };
      return { state: 'signed-in', session: opened.value, csrf: sealer.csrfOf(sealed) };
    },
  };
}

/** The sign-in made by {@link createPersonSignIn}. */
export type PersonSignIn = ReturnType<typeof createPersonSignIn>;

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
