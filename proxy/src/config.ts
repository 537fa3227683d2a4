import os from 'node:os';
import path from 'node:path';
import { ConfigError, env, loadConfig } from '@warmhouse/shared';
import { z } from 'zod';
import { DEFAULT_ROLES_CLAIM } from './auth/verdict';
import { DEFAULT_ALGORITHMS } from './auth/verifier';
import { parsePeers, TrustedPeers } from './inbound/trusted-peers';

/** Repository root (the proxy package lives in `<root>/proxy`). */
const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Most worker processes `PROXY_WORKERS` may ask for (a typo such as 1000 is refused rather than forked). */
export const MAX_WORKERS = 256;

/**
 * The number of worker processes `PROXY_WORKERS` asks for: a whole number from 1 to {@link MAX_WORKERS}, or `auto`
 * / `0` for the number of CPUs the process may use (`os.availableParallelism()`); undefined when it is neither.
 */
export function parseWorkers(value: string, cpus: number = os.availableParallelism()): number | undefined {
  const v = value.trim().toLowerCase();
  if (v === 'auto') return Math.max(1, cpus);
  if (!/^\d{1,4}$/.test(v)) return undefined;
  const n = Number(v);
  if (n === 0) return Math.max(1, cpus);
  return n <= MAX_WORKERS ? n : undefined;
}

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
  /** Persisted table (`route-table.json`), audit log (`audit.jsonl`) and plan progress (`plan-progress.json`). */
  PROXY_STATE_DIR: z
    .string()
    .min(1)
    .default(path.join(REPO_ROOT, '.state', 'proxy')),
  /**
   * The fleet's control store (PostgreSQL, schema migrations/proxy): route table versions, audit log, plan lease
   * and progress, evidence and read-your-writes pins shared by every proxy process. Without it the proxy runs
   * alone, keeping its state in PROXY_STATE_DIR (development; never more than one process).
   */
  PROXY_CONTROL_DATABASE_URL: env.postgresUrl().optional(),
  /** Safety-net poll of the control store besides its notifications (ms). */
  PROXY_CONTROL_POLL_MS: z.coerce.number().int().min(100).max(60_000).default(2_000),
  /** Connecting to the control store, and each of its statements, at most (ms). */
  PROXY_CONTROL_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3_000),
  /** How often each process reports itself to the fleet registry (ms); three missed beats and it is gone. */
  PROXY_FLEET_HEARTBEAT_MS: z.coerce.number().int().min(100).max(60_000).default(2_000),
  /** With a control store: a plan runner that stops renewing its lease loses it after this long (ms). */
  PROXY_PLAN_LEASE_MS: z.coerce.number().int().min(200).max(600_000).default(15_000),
  /** With a control store: how often each process publishes its per-route evidence for the plans and /api/stats (ms). */
  PROXY_EVIDENCE_PUBLISH_MS: z.coerce.number().int().min(100).max(60_000).default(1_000),
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
  /** CDC-aware reads: how often each serving upstream's `/cdc/applied` is polled, and its timeout (ms). */
  PROXY_CDC_POLL_MS: env.positiveInt(250),
  PROXY_CDC_POLL_TIMEOUT_MS: env.positiveInt(1_000),
  /** A service whose last good `/cdc/applied` is older than this is "unknown": its CDC-aware reads go to the source. */
  PROXY_CDC_STALE_AFTER_MS: env.positiveInt(3_000),
  /** Debezium `topic.prefix`: the topic of table `public.x` is `<prefix>.public.x`. */
  PROXY_CDC_TOPIC_PREFIX: z.string().min(1).default('monolith'),
  /** Table written by Debezium's heartbeat action query (its topic is the services' watermark). */
  PROXY_CDC_HEARTBEAT_TABLE: z.string().min(1).default('public.cdc_heartbeat'),
  /**
   * Read-only connection to the source database: after a write the proxy reads `pg_current_wal_lsn()` and keeps
   * the key pinned until the service has applied that position (exact). Without it, pins wait for a source commit
   * time later than the write's answer plus PROXY_CDC_CLOCK_SKEW_MS.
   */
  PROXY_CDC_SOURCE_DATABASE_URL: env.postgresUrl().optional(),
  /** Connecting to it and reading the WAL position, at most (then the pin waits for a commit time instead). */
  PROXY_CDC_WAL_TIMEOUT_MS: env.positiveInt(5_000),
  PROXY_CDC_CLOCK_SKEW_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
  /** Read-your-writes pins kept at most (least recently written dropped first). */
  PROXY_CDC_MAX_PINS: env.positiveInt(100_000),
  /**
   * Worker processes serving the client and admin ports (node:cluster; Node 20 has no working SO_REUSEPORT):
   * `1` (default) is one process and no primary; `auto` or `0` is one per CPU.
   */
  PROXY_WORKERS: z
    .string()
    .default('1')
    .refine((v) => parseWorkers(v) !== undefined, {
      message: `must be "auto", 0 (one per CPU) or a whole number from 1 to ${MAX_WORKERS}`,
    })
    .transform((v) => parseWorkers(v)!),
  /**
   * Peers whose `X-Strangler-*` request fields the proxy forwards (comma-separated addresses or CIDR blocks, such
   * as `10.0.0.0/8,::1`): another proxy of the system in front of this one. Every other client's copies are removed,
   * so nobody outside can ask for a dry run or claim an identity. Default: none.
   */
  PROXY_TRUSTED_PEERS: z
    .string()
    .default('')
    .superRefine((v, c) => {
      for (const problem of parsePeers(v).problems) c.addIssue({ code: 'custom', message: problem });
    })
    .transform((v) => new TrustedPeers(parsePeers(v).entries)),
  /**
   * OpenID issuer whose JWT access tokens routes with `auth` accept (`iss` must equal it); its keys are found by
   * discovery (`<issuer>/.well-known/openid-configuration`) unless PROXY_OIDC_JWKS_URI names them. Without it a
   * route requiring authentication answers 500 PROXY_ERR_AUTH_NOT_CONFIGURED.
   */
  PROXY_OIDC_ISSUER: env.url().optional(),
  /** Audience a token must name (`aud`) on routes that list none of their own; required with the issuer. */
  PROXY_OIDC_AUDIENCE: z.string().min(1).max(256).optional(),
  /** The issuer's JWKS URL (default: from discovery). */
  PROXY_OIDC_JWKS_URI: env.url().optional(),
  /** Signature algorithms accepted, comma-separated; asymmetric only (no `none`, no HS*). */
  PROXY_OIDC_ALGORITHMS: env
    .listOr(DEFAULT_ALGORITHMS)
    .refine((list) => list.length > 0 && list.every((a) => DEFAULT_ALGORITHMS.includes(a)), {
      message: `must list only asymmetric algorithms among ${DEFAULT_ALGORITHMS.join(', ')}`,
    }),
  /** Tolerance on a token's `exp`, `nbf` and `iat` (seconds, at most 300). */
  PROXY_OIDC_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  /** The cached key set is refreshed in the background when older than this (seconds); its keys keep serving. */
  PROXY_OIDC_JWKS_REFRESH_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
  /** A token with an unknown `kid` fetches the keys again at most this often (ms): rotation without a flood. */
  PROXY_OIDC_JWKS_COOLDOWN_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  /** Each fetch of the discovery document or the keys at most (ms): a slow endpoint counts as down. */
  PROXY_OIDC_JWKS_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(2_000),
  /** Verified tokens remembered (until their expiry) per process; 0 verifies every request. */
  PROXY_OIDC_TOKEN_CACHE: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
  /**
   * Audience a person's token must name (`aud`) to be accepted by the admin API, verified like the routes' tokens
   * (PROXY_OIDC_ISSUER, its keys, algorithms and skew); unset: the admin API takes the shared token only.
   */
  PROXY_ADMIN_OIDC_AUDIENCE: z.string().min(1).max(256).optional(),
  /** Claim holding a token's roles (`strangler:viewer`, `strangler:operator`); dots walk into objects. */
  PROXY_ADMIN_ROLES_CLAIM: z
    .string()
    .regex(/^[A-Za-z0-9_:-]+(\.[A-Za-z0-9_:-]+)*$/, 'must be a claim name, or a dotted path such as realm_access.roles')
    .default(DEFAULT_ROLES_CLAIM),
  LOG_LEVEL: env.logLevel(),
};

/** The validated, frozen proxy configuration. */
export type ProxyConfig = Readonly<z.infer<z.ZodObject<typeof PROXY_ENV>>>;

/** Loads and checks the proxy's environment; refuses an admin API without a token unless explicitly insecure. */
export function loadProxyConfig(source: NodeJS.ProcessEnv = process.env): ProxyConfig {
  const config = loadConfig(PROXY_ENV, source);
  if (config.PROXY_WORKERS > 1 && !config.PROXY_CONTROL_DATABASE_URL) {
    throw new ConfigError([
      `PROXY_WORKERS: ${config.PROXY_WORKERS} processes need PROXY_CONTROL_DATABASE_URL (the control store they share); without it run one process`,
    ]);
  }
  if (config.PROXY_OIDC_ISSUER && !config.PROXY_OIDC_AUDIENCE) {
    throw new ConfigError([
      'PROXY_OIDC_AUDIENCE: not set; with PROXY_OIDC_ISSUER the proxy needs the audience its tokens must name',
    ]);
  }
  if (!config.PROXY_OIDC_ISSUER && (config.PROXY_OIDC_AUDIENCE || config.PROXY_OIDC_JWKS_URI)) {
    throw new ConfigError(['PROXY_OIDC_ISSUER: not set, but PROXY_OIDC_AUDIENCE or PROXY_OIDC_JWKS_URI is']);
  }
  if (config.PROXY_ADMIN_OIDC_AUDIENCE && !config.PROXY_OIDC_ISSUER) {
    throw new ConfigError([
      'PROXY_ADMIN_OIDC_AUDIENCE: set, but PROXY_OIDC_ISSUER is not (the issuer whose tokens the admin API would verify)',
    ]);
  }
  if (!config.PROXY_ADMIN_TOKEN && !config.PROXY_ADMIN_OIDC_AUDIENCE && !config.PROXY_INSECURE_DEV_ADMIN) {
    throw new ConfigError([
      'PROXY_ADMIN_TOKEN: not set; the admin API refuses to start without a token or PROXY_ADMIN_OIDC_AUDIENCE (PROXY_INSECURE_DEV_ADMIN=true runs it open, for local development only)',
    ]);
  }
  return config;
}
