import path from 'node:path';
import { ConfigError, env, loadConfig } from '@warmhouse/shared';
import { z } from 'zod';

/** Repository root (the proxy package lives in `<root>/proxy`). */
const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Environment of the proxy process, validated once at start-up; every bad variable is named. */
export const PROXY_ENV = {
  /** Client port bind address. */
  PROXY_HOST: z.string().min(1).default('0.0.0.0'),
  /** Client port (0 picks a free one). */
  PROXY_PORT: env.port(8000),
  /** Admin port bind address; loopback unless the admin API must be reached from elsewhere. */
  PROXY_ADMIN_HOST: z.string().min(1).default('127.0.0.1'),
  PROXY_ADMIN_PORT: env.port(8001),
  /** Bearer token of the admin API (at least 16 characters). */
  PROXY_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Explicit opt-in to run the admin API without a token (local development only). */
  PROXY_INSECURE_DEV_ADMIN: env.bool(false),
  /** Default route table (YAML or JSON), watched and reloaded on change. */
  PROXY_ROUTES_FILE: z
    .string()
    .min(1)
    .default(path.join(REPO_ROOT, 'proxy', 'routes.yaml')),
  PROXY_WATCH_ROUTES_FILE: env.bool(true),
  /** Persisted table (`route-table.json`) and audit log (`audit.jsonl`). */
  PROXY_STATE_DIR: z
    .string()
    .min(1)
    .default(path.join(REPO_ROOT, '.state', 'proxy')),
  /** Upstream base URLs, read by `${...}` placeholders in the routes file (which has defaults). */
  MONOLITH_URL: env.url().optional(),
  DEVICE_MANAGEMENT_URL: env.url().optional(),
  TELEMETRY_URL: env.url().optional(),
  /** Request body limit (413 beyond); per-upstream `maxBodyBytes` in the table overrides it. */
  PROXY_MAX_BODY_BYTES: env.positiveInt(10 * 1024 * 1024),
  /** Request line plus headers limit (431 beyond). */
  PROXY_MAX_HEADER_BYTES: env.positiveInt(16 * 1024),
  /** Client must send its whole request within this time (408). */
  PROXY_CLIENT_REQUEST_TIMEOUT_MS: env.positiveInt(300_000),
  /** Client must send its request head within this time (408). */
  PROXY_CLIENT_HEADERS_TIMEOUT_MS: env.positiveInt(30_000),
  /** Idle keep-alive client connections are closed after this time. */
  PROXY_KEEP_ALIVE_TIMEOUT_MS: env.positiveInt(5_000),
  /** On SIGTERM, requests in flight get this long to finish. */
  PROXY_SHUTDOWN_GRACE_MS: env.positiveInt(10_000),
  /** Add X-Strangler-Route / X-Strangler-Upstream to responses. */
  PROXY_DECISION_HEADERS: env.bool(true),
  /** Sliding window of the per-route statistics (`GET /api/stats`) and of the plans' canary gates, in seconds. */
  PROXY_STATS_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  /** How often route plans are evaluated (and advanced or rolled back), in milliseconds. */
  PROXY_PLAN_TICK_MS: z.coerce.number().int().min(50).max(3_600_000).default(5_000),
  LOG_LEVEL: env.logLevel(),
};

/** The validated, frozen proxy configuration. */
export type ProxyConfig = Readonly<z.infer<z.ZodObject<typeof PROXY_ENV>>>;

/** Loads and checks the proxy's environment; refuses an admin API without a token unless explicitly insecure. */
export function loadProxyConfig(source: NodeJS.ProcessEnv = process.env): ProxyConfig {
  const config = loadConfig(PROXY_ENV, source);
  if (!config.PROXY_ADMIN_TOKEN && !config.PROXY_INSECURE_DEV_ADMIN) {
    throw new ConfigError([
      'PROXY_ADMIN_TOKEN: not set; the admin API refuses to start without a token (PROXY_INSECURE_DEV_ADMIN=true runs it open, for local development only)',
    ]);
  }
  return config;
}
