import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider, { errors, type Configuration } from 'oidc-provider';

/** Scopes of the Warm House API the provider grants. */
export const API_SCOPES = ['devices:read', 'devices:write', 'telemetry:ingest', 'operator'] as const;

/** Claim of the access token listing the user's roles (the proxy's PROXY_ADMIN_ROLES_CLAIM default). */
export const ROLES_CLAIM = 'roles';

/**
 * The demo users (local runs and tests only; the password is the user name followed by `-demo`) and their roles
 * at the proxy's admin API: alice changes routes and plans, bob reads.
 */
export const DEMO_USERS = [
  { sub: 'user-alice', username: 'alice', name: 'Alice', roles: ['strangler:operator'] },
  { sub: 'user-bob', username: 'bob', name: 'Bob', roles: ['strangler:viewer'] },
] as const;

/** The grant type demo users get a token with from a script: the resource owner password grant (demo only). */
export const DEMO_PASSWORD_GRANT = 'password';

/** Options of {@link createIdentityProvider}. */
export interface IdentityProviderOptions {
  /** The issuer URL (`iss`), where the provider is reached. */
  readonly issuer: string;
  /** The API's audience: JWT access tokens are issued for it (the proxy's PROXY_OIDC_AUDIENCE). */
  readonly audience: string;
  /** Secret of the demo clients (`warm-house-web`, `gateway-demo`). */
  readonly clientSecret: string;
  /** Access token lifetime, seconds. */
  readonly accessTokenTtlSeconds: number;
  /** Where the migration dashboard (`warm-house-dashboard` client) may be sent back: `<monitor>/auth/callback`. */
  readonly dashboardRedirectUris?: readonly string[];
}

/** The migration dashboard's client (authorization code with PKCE; the monitor's MONITOR_OIDC_CLIENT_ID). */
export const DASHBOARD_CLIENT_ID = 'warm-house-dashboard';

/**
 * A certified OpenID Provider (oidc-provider) configured for the Warm House API: JWT access tokens (RFC 9068) for
 * one resource server, the audience; a gateway client using client credentials (`telemetry:ingest`); a web client
 * for the demo users and one for the migration dashboard (authorization code with the provider's development login
 * pages: the login is the user's subject, `user-alice`, and no password is checked). Keys are generated at
 * start (RS256) and published at `/jwks`; nothing is stored (in-memory adapter).
 */
export function createIdentityProvider(o: IdentityProviderOptions): Provider {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'demo-1', alg: 'RS256', use: 'sig' };
  const scope = API_SCOPES.join(' ');
  const configuration: Configuration = {
    jwks: { keys: [jwk] as never },
    clients: [
      {
        client_id: 'gateway-demo',
        client_secret: o.clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: 'telemetry:ingest devices:read',
      },
      {
        client_id: 'warm-house-web',
        client_secret: o.clientSecret,
        grant_types: ['authorization_code', 'refresh_token', DEMO_PASSWORD_GRANT],
        redirect_uris: ['http://127.0.0.1/callback'],
        scope: `openid profile ${scope}`,
      },
      {
        client_id: DASHBOARD_CLIENT_ID,
        client_secret: o.clientSecret,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [...(o.dashboardRedirectUris ?? ['http://127.0.0.1/auth/callback'])],
        scope: 'openid profile',
      },
    ],
    scopes: ['openid', 'profile', 'offline_access', ...API_SCOPES],
    // the `profile` scope releases the person's name (oidc-provider maps no claim to it by default): the dashboard
    // shows who signed in from the ID token
    claims: { openid: ['sub'], profile: ['name'] },
    findAccount: (_ctx, sub) => {
      const user = DEMO_USERS.find((u) => u.sub === sub);
      return user ? { accountId: user.sub, claims: () => ({ sub: user.sub, name: user.name }) } : undefined;
    },
    // a user's access token carries the user's roles; a client's own token (client credentials) has none
    extraTokenClaims: (_ctx, token) => {
      const user = 'accountId' in token ? DEMO_USERS.find((u) => u.sub === token.accountId) : undefined;
      return user ? { [ROLES_CLAIM]: [...user.roles] } : undefined;
    },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => o.audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== o.audience) throw new errors.InvalidTarget(`unknown resource ${resource}`);
          return {
            scope,
            audience: o.audience,
            accessTokenFormat: 'jwt',
            accessTokenTTL: o.accessTokenTtlSeconds,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  };
  const provider = new Provider(o.issuer, configuration);
  const resourceServer = () =>
    new provider.ResourceServer(o.audience, {
      scope,
      audience: o.audience,
      accessTokenFormat: 'jwt',
      accessTokenTTL: o.accessTokenTtlSeconds,
      jwt: { sign: { alg: 'RS256' } },
    });
  // Demo users get a token without a browser (scripts, tests): the password grant, for the demo users only. A real
  // deployment uses the authorization code flow (the web client above, the provider's login pages locally).
  provider.registerGrantType(
    DEMO_PASSWORD_GRANT,
    async (ctx) => {
      const { client, params } = ctx.oidc;
      const user = DEMO_USERS.find((u) => u.username === params?.username && `${u.username}-demo` === params?.password);
      if (!user || !client) throw new errors.InvalidGrant('wrong username or password');
      const allowed = new Set(String(client.scope ?? '').split(' '));
      const granted = String(params?.scope ?? '')
        .split(' ')
        .filter((s) => allowed.has(s) && (API_SCOPES as readonly string[]).includes(s))
        .join(' ');
      const token = new provider.AccessToken({
        accountId: user.sub,
        client,
        gty: DEMO_PASSWORD_GRANT,
        grantId: randomUUID(),
        scope: granted || undefined,
        resourceServer: resourceServer(),
      });
      const value = await token.save();
      ctx.body = { access_token: value, token_type: 'Bearer', expires_in: token.expiration, scope: granted };
    },
    ['username', 'password', 'scope'],
  );
  return provider;
}
