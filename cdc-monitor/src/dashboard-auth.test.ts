import { EncryptJWT } from 'jose';
import { ConfigError } from '@warmhouse/shared';
import { loadMonitorConfig } from './config';
import { canChange, decideDashboardAccess, rolesFromClaims } from './roles';
import { createSessionSealer, type PersonSession } from './session';
import { sessionFromSignIn } from './sign-in';

const SECRET = 'a-session-secret-of-at-least-32-characters';
const T0 = Date.UTC(2026, 0, 1);
const session: PersonSession = {
  sub: 'user-alice',
  name: 'Alice',
  roles: ['strangler:operator'],
  accessToken: 'eyJ.access.token',
  expiresAt: T0 / 1000 + 300,
};

describe('dashboard roles', () => {
  const person = (roles: string[]) => ({ kind: 'person' as const, subject: 's', roles });
  it.each([
    [['strangler:viewer'], 'read', true],
    [['strangler:viewer'], 'change', false],
    [['strangler:operator'], 'read', true],
    [['strangler:operator'], 'change', true],
    [[], 'read', false],
    [['other'], 'change', false],
  ] as const)('%j may %s: %s', (roles, need, ok) => {
    expect(decideDashboardAccess(person([...roles]), need).ok).toBe(ok);
  });
  it('names the missing role', () => {
    expect(decideDashboardAccess(person(['strangler:viewer']), 'change')).toEqual({
      ok: false,
      reason: 'a change needs role strangler:operator; you have strangler:viewer',
      required: ['strangler:operator'],
    });
  });
  it('lets the admin token do everything', () => {
    expect(decideDashboardAccess({ kind: 'token' }, 'change').ok).toBe(true);
    expect(canChange({ kind: 'token' })).toBe(true);
    expect(canChange(person(['strangler:viewer']))).toBe(false);
  });
  it('reads roles from a list, a space-separated string or a dotted path', () => {
    expect(rolesFromClaims({ roles: ['a', 'b', 3] }, 'roles')).toEqual(['a', 'b']);
    expect(rolesFromClaims({ roles: 'a  b' }, 'roles')).toEqual(['a', 'b']);
    expect(rolesFromClaims({ realm_access: { roles: ['x'] } }, 'realm_access.roles')).toEqual(['x']);
    expect(rolesFromClaims({}, 'roles')).toEqual([]);
  });
});

describe('sealed session cookies', () => {
  let now = T0;
  const sealer = createSessionSealer({ secret: SECRET, now: () => now });
  beforeEach(() => {
    now = T0;
  });

  it('opens on another replica with the same secret', async () => {
    const sealed = await sealer.sealSession(session);
    const other = createSessionSealer({ secret: SECRET, now: () => now });
    expect(await other.openSession(sealed)).toEqual({ ok: true, value: session });
    expect(other.csrfOf(sealed)).toBe(sealer.csrfOf(sealed));
    expect(sealed).not.toContain('user-alice');
  });

  it('refuses a tampered cookie, another secret and garbage', async () => {
    const sealed = await sealer.sealSession(session);
    const parts = sealed.split('.');
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    const tampered = [parts[0], parts[1], parts[2], flip(parts[3]!), parts[4]].join('.');
    expect(await sealer.openSession(tampered)).toEqual({ ok: false, reason: 'invalid' });
    const foreign = createSessionSealer({ secret: `${SECRET}-other`, now: () => now });
    expect(await foreign.openSession(sealed)).toEqual({ ok: false, reason: 'invalid' });
    expect(await sealer.openSession('not-a-cookie')).toEqual({ ok: false, reason: 'invalid' });
  });

  it('refuses an expired session as expired', async () => {
    const sealed = await sealer.sealSession(session);
    now = T0 + 301_000;
    expect(await sealer.openSession(sealed)).toEqual({ ok: false, reason: 'expired' });
  });

  it('never opens a sign-in cookie as a session, nor the other way round', async () => {
    const login = await sealer.sealLogin({ state: 's', nonce: 'n', codeVerifier: 'v' });
    expect(await sealer.openLogin(login)).toEqual({ ok: true, value: { state: 's', nonce: 'n', codeVerifier: 'v' } });
    expect((await sealer.openSession(login)).ok).toBe(false);
    expect((await sealer.openLogin(await sealer.sealSession(session))).ok).toBe(false);
    now = T0 + 601_000;
    expect(await sealer.openLogin(login)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses a sealed cookie without the session fields', async () => {
    const sealed = await sealer.sealSession(session);
    const half = await sealer.sealLogin({ state: 's', nonce: 'n', codeVerifier: 'v' });
    expect(half).not.toBe(sealed);
    // encrypted with the right key but missing `at`: still invalid
    const key = new Uint8Array(
      (await import('node:crypto')).hkdfSync('sha256', SECRET, 'cdc-monitor', 'warm-house-dashboard session v1', 32),
    );
    const bare = await new EncryptJWT({ sub: 'x', roles: [] })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setAudience('warm-house-dashboard session v1')
      .setExpirationTime(T0 / 1000 + 60)
      .encrypt(key);
    expect(await sealer.openSession(bare)).toEqual({ ok: false, reason: 'invalid' });
  });
});

describe('sessionFromSignIn', () => {
  const jwt = (payload: object) =>
    `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;
  const nowSeconds = T0 / 1000;
  it('takes roles from the access token and ends with it', () => {
    const accessToken = jwt({ sub: 'user-bob', roles: ['strangler:viewer'], exp: nowSeconds + 120 });
    expect(
      sessionFromSignIn(
        { accessToken, expiresIn: 300, idClaims: { sub: 'user-bob', name: 'Bob' } },
        { rolesClaim: 'roles', maxSeconds: 3600, nowSeconds },
      ),
    ).toEqual({ sub: 'user-bob', name: 'Bob', roles: ['strangler:viewer'], accessToken, expiresAt: nowSeconds + 120 });
  });
  it('reads roles from the ID token for an opaque access token, capped at the longest session', () => {
    expect(
      sessionFromSignIn(
        { accessToken: 'opaque', idClaims: { sub: 'u', roles: 'strangler:operator' } },
        { rolesClaim: 'roles', maxSeconds: 60, nowSeconds },
      ),
    ).toMatchObject({ roles: ['strangler:operator'], expiresAt: nowSeconds + 60 });
  });
  it('refuses an ID token without a subject', () => {
    expect(() =>
      sessionFromSignIn({ accessToken: 'x', idClaims: {} }, { rolesClaim: 'roles', maxSeconds: 60, nowSeconds }),
    ).toThrow('no subject');
  });
});

describe('OIDC config', () => {
  const ENV = {
    CONNECT_URL: 'http://127.0.0.1:8083',
    MONOLITH_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/smart_home',
    KAFKA_BROKERS: '127.0.0.1:9092',
    MONITOR_TOKEN: '0123456789abcdef',
  };
  const problemsOf = (env: Record<string, string>) => {
    try {
      loadMonitorConfig({ ...ENV, ...env });
      return [];
    } catch (err) {
      return (err as ConfigError).problems;
    }
  };
  it('is off without an issuer', () => {
    expect(loadMonitorConfig(ENV).oidc).toBeUndefined();
  });
  it('builds the settings and the callback URL', () => {
    const oidc = loadMonitorConfig({
      ...ENV,
      MONITOR_OIDC_ISSUER: 'https://id.example.com/realms/wh',
      MONITOR_OIDC_CLIENT_ID: 'dashboard',
      MONITOR_PUBLIC_URL: 'https://monitor.example.com/',
      MONITOR_SESSION_SECRET: SECRET,
    }).oidc;
    expect(oidc).toMatchObject({ clientId: 'dashboard', scopes: 'openid profile', rolesClaim: 'roles' });
    expect(oidc?.redirectUrl.href).toBe('https://monitor.example.com/auth/callback');
    expect(oidc?.clientSecret).toBeUndefined();
  });
  it('names every missing or bad variable', () => {
    expect(problemsOf({ MONITOR_OIDC_ISSUER: 'http://id.example.com' }).map((p) => p.split(':')[0])).toEqual([
      'MONITOR_OIDC_CLIENT_ID',
      'MONITOR_PUBLIC_URL',
      'MONITOR_SESSION_SECRET',
      'MONITOR_OIDC_ISSUER',
    ]);
    expect(problemsOf({ MONITOR_SESSION_SECRET: 'short' })[0]).toMatch(/^MONITOR_SESSION_SECRET: must be at least 32/);
    expect(problemsOf({ MONITOR_OIDC_CLIENT_ID: 'x' })[0]).toMatch(
      /^MONITOR_OIDC_CLIENT_ID: set, but MONITOR_OIDC_ISSUER/,
    );
    expect(
      problemsOf({
        MONITOR_OIDC_ISSUER: 'http://127.0.0.1:17090',
        MONITOR_OIDC_CLIENT_ID: 'd',
        MONITOR_PUBLIC_URL: 'http://127.0.0.1:17002',
        MONITOR_SESSION_SECRET: SECRET,
        MONITOR_OIDC_SCOPES: 'profile',
      }),
    ).toEqual(['MONITOR_OIDC_SCOPES: must include openid (got "profile")']);
  });
});
