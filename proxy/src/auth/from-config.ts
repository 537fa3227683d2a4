import type { Logger } from '@warmhouse/shared';
import type { ProxyConfig } from '../config';
import { LOG_EVENTS } from '../log-events';
import { bearerAuthenticator, NO_AUTHENTICATOR, type Authenticator } from './authenticator';
import { httpKeySetLoader, JwksCache } from './jwks';
import { TokenVerifier } from './verifier';

/**
 * The token verifier of PROXY_OIDC_ISSUER (its keys cached per process), shared by the routes with `auth` and the
 * admin API; none without an issuer.
 */
export function verifierFromConfig(config: ProxyConfig, log: Logger): TokenVerifier | undefined {
  const issuer = config.PROXY_OIDC_ISSUER;
  if (!issuer || !config.PROXY_OIDC_AUDIENCE) return undefined;
  const jwks = new JwksCache({
    load: httpKeySetLoader({
      issuer,
      jwksUri: config.PROXY_OIDC_JWKS_URI,
      timeoutMs: config.PROXY_OIDC_JWKS_TIMEOUT_MS,
    }),
    refreshMs: config.PROXY_OIDC_JWKS_REFRESH_SECONDS * 1000,
    cooldownMs: config.PROXY_OIDC_JWKS_COOLDOWN_MS,
    onLoadError: (err) =>
      log.warn({ event: LOG_EVENTS.jwksUnavailable, issuer, err }, "the issuer's keys could not be fetched"),
  });
  return new TokenVerifier({
    issuer,
    getKey: jwks.getKey,
    algorithms: config.PROXY_OIDC_ALGORITHMS,
    clockSkewSeconds: config.PROXY_OIDC_CLOCK_SKEW_SECONDS,
    cacheSize: config.PROXY_OIDC_TOKEN_CACHE,
    rolesClaim: config.PROXY_ADMIN_ROLES_CLAIM,
  });
}

/** The authenticator of the routes over `verifier` (none without PROXY_OIDC_ISSUER). */
export function authenticatorFromConfig(config: ProxyConfig, verifier: TokenVerifier | undefined): Authenticator {
  if (!verifier || !config.PROXY_OIDC_AUDIENCE) return NO_AUTHENTICATOR;
  return bearerAuthenticator(verifier, config.PROXY_OIDC_AUDIENCE);
}
