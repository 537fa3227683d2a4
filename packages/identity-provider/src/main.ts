import { createLogger, env, loadConfig, runMain } from '@warmhouse/shared';
import { z } from 'zod';
import { createIdentityProvider } from './provider';

/** Environment of the demo identity provider (local runs and tests only; never deployed). */
const IDP_ENV = {
  IDP_HOST: z.string().min(1).default('127.0.0.1'),
  IDP_PORT: env.port(8090),
  /** The issuer URL; default `http://<host>:<port>`. */
  IDP_ISSUER: env.url().optional(),
  IDP_AUDIENCE: z.string().min(1).default('urn:warm-house:api'),
  IDP_CLIENT_SECRET: z.string().min(16, 'must be at least 16 characters'),
  IDP_ACCESS_TOKEN_TTL_SECONDS: env.positiveInt(300),
  /** the migration dashboard's callback URLs (comma list): `<monitor>/auth/callback` */
  IDP_DASHBOARD_REDIRECT_URIS: env.list().optional(),
  LOG_LEVEL: env.logLevel(),
};

runMain('identity-provider', async (onStop) => {
  const startedAt = performance.now();
  const config = loadConfig(IDP_ENV);
  const log = createLogger('identity-provider', config.LOG_LEVEL);
  const issuer = config.IDP_ISSUER ?? `http://${config.IDP_HOST}:${config.IDP_PORT}`;
  const provider = createIdentityProvider({
    issuer,
    audience: config.IDP_AUDIENCE,
    clientSecret: config.IDP_CLIENT_SECRET,
    accessTokenTtlSeconds: config.IDP_ACCESS_TOKEN_TTL_SECONDS,
    ...(config.IDP_DASHBOARD_REDIRECT_URIS ? { dashboardRedirectUris: config.IDP_DASHBOARD_REDIRECT_URIS } : {}),
  });
  provider.on('server_error', (_ctx, err) => log.error({ err }, 'provider error'));
  const server = provider.listen(config.IDP_PORT, config.IDP_HOST);
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  onStop(() => new Promise<void>((resolve) => server.close(() => resolve())));
  log.info(
    {
      event: 'listening',
      issuer,
      audience: config.IDP_AUDIENCE,
      startMs: Math.round(performance.now() - startedAt),
      rssMiB: Math.round(process.memoryUsage().rss / 1048576),
    },
    `identity provider at ${issuer}`,
  );
  return log;
});
