import type { Logger } from '@warmhouse/shared';
import type { ProxyConfig } from '../config';
import { LOG_EVENTS } from '../log-events';
import { bearerAuthenticator, NO_AUTHENTICATOR, type Authenticator } from './authenticator';
import { httpKeySetLoader, JwksCache } from './jwks';
import { TokenVerifier } from './verifier';

/** The authenticator the environment asks for: none without PROXY_OIDC_ISSUER. */
export function authenticatorFromConfig(config: ProxyConfig, log: Logger): Authenticator {
  const issuer = config.PROXY_OIDC_ISSUER;
  if (!issuer || !config.PROXY_OIDC_AUDIENCE) return NO_AUTHENTICATOR;
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
  const verifier = new TokenVerifier({
    issuer,
    getKey: jwks.getKey,
    algorithms: config.PROXY_OIDC_ALGORITHMS,
    clockSkewSeconds: config.PROXY_OIDC_CLOCK_SKEW_SECONDS,
    cacheSize: config.PROXY_OIDC_TOKEN_CACHE,
  });
  return bearerAuthenticator(verifier, config.PROXY_OIDC_AUDIENCE);
}
