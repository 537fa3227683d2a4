import * as client from 'openid-client';
import type { Logger } from '@warmhouse/shared';
import type { OidcSettings } from './config';
import type { LoginState } from './session';

// The I/O of the dashboard's OIDC sign-in, with openid-client (certified relying party): discovery, the authorization
// URL (code flow, PKCE S256, state, nonce) and the code exchange, which checks state, nonce, the ID token's
// signature, issuer, audience and expiry. openid-client is ESM-only: only main.ts loads this module (under tsx),
// so jest never does; the HTTP side sees the {@link OidcFlow} interface.

/** What the provider handed over at the callback. */
export interface SignedIn {
  readonly accessToken: string;
  /** seconds the access token lives, when the provider said */
  readonly expiresIn?: number;
  /** the verified ID token's claims */
  readonly idClaims: Readonly<Record<string, unknown>>;
}

/** A sign-in: where to send the browser, and what to check when it comes back. */
export interface OidcFlow {
  begin(): Promise<{ url: URL; login: LoginState }>;
  /** `callbackUrl`: the public redirect URL with the query the provider sent back. Throws on any failed check. */
  complete(callbackUrl: URL, login: LoginState): Promise<SignedIn>;
}

/** The flow against `settings.issuer`; discovery runs on first use and again after a failure. */
export function createOidcFlow(settings: OidcSettings, logger: Logger): OidcFlow {
  let discovered: Promise<client.Configuration> | undefined;
  const configuration = () => {
    discovered ??= client
      .discovery(
        settings.issuer,
        settings.clientId,
        undefined,
        settings.clientSecret === undefined ? client.None() : client.ClientSecretPost(settings.clientSecret),
        {
          // config.ts allows http only for a loopback issuer (local runs)
          ...(settings.issuer.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {}),
          timeout: 10,
        },
      )
      .catch((err: unknown) => {
        discovered = undefined;
        logger.warn({ event: 'oidc_discovery_failed', issuer: settings.issuer.href, err }, 'OIDC discovery failed');
        throw err;
      });
    return discovered;
  };
  const resource: Record<string, string> = settings.resource === undefined ? {} : { resource: settings.resource };
  return {
    async begin() {
      const config = await configuration();
      const login: LoginState = {
        state: client.randomState(),
        nonce: client.randomNonce(),
        codeVerifier: client.randomPKCECodeVerifier(),
      };
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: settings.redirectUrl.href,
        scope: settings.scopes,
        code_challenge: await client.calculatePKCECodeChallenge(login.codeVerifier),
        code_challenge_method: 'S256',
        state: login.state,
        nonce: login.nonce,
        ...resource,
      });
      return { url, login };
    },
    async complete(callbackUrl, login) {
      const config = await configuration();
      const tokens = await client.authorizationCodeGrant(
        config,
        callbackUrl,
        {
          pkceCodeVerifier: login.codeVerifier,
          expectedState: login.state,
          expectedNonce: login.nonce,
          idTokenExpected: true,
        },
        resource,
      );
      const claims = tokens.claims();
      if (!claims) throw new Error('the provider sent no ID token');
      return {
        accessToken: tokens.access_token,
        ...(tokens.expires_in !== undefined ? { expiresIn: tokens.expires_in } : {}),
        idClaims: claims,
      };
    },
  };
}
