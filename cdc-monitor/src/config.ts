import { z } from 'zod';
import { ConfigError, env, loadConfig } from '@warmhouse/shared';
import { parseServices } from './probe';

const optionalList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );

/** The monitor process's environment, parsed once (every problem reported at once) and frozen. */
export function loadMonitorConfig(source: NodeJS.ProcessEnv = process.env) {
  const config = loadConfig(
    {
      CONNECT_URL: env.url(),
      /** connectors to watch */
      CONNECTORS: optionalList('monolith-heating'),
      /** superuser or a role that can read pg_replication_slots and public.cdc_heartbeat in smart_home */
      MONOLITH_DATABASE_URL: env.postgresUrl(),
      REPLICATION_SLOTS: optionalList('warmhouse_monolith'),
      KAFKA_BROKERS: env.list(),
      /** consumer groups whose lag is reported (comma list; may be empty) */
      CONSUMER_GROUPS: optionalList(''),
      CDC_TOPICS: optionalList(
        'monolith.public.heating_systems,monolith.public.temperature_sensors,monolith.public.cdc_heartbeat',
      ),
      MONITOR_HOST: z.string().default('127.0.0.1'),
      MONITOR_PORT: env.port(9470),
      MONITOR_TOKEN: z.string().min(16, 'must be at least 16 characters'),
      WAL_RETAINED_ALARM_BYTES: env.positiveInt(1024 * 1024 * 1024),
      FRESHNESS_ALARM_SECONDS: env.nonNegativeNumber(120),
      /** topics whose freshness raises the alarm; busy tables may be added, idle ones would alarm forever */
      FRESHNESS_ALARM_TOPICS: optionalList('monolith.public.cdc_heartbeat'),
      HEARTBEAT_ALARM_SECONDS: env.nonNegativeNumber(60),
      /** device management's database; when set, `heating_systems` is compared with its `devices` (drift check) */
      DEVICE_MANAGEMENT_DATABASE_URL: env.postgresUrl().optional(),
      /** scheduled drift check period; 0 runs it on demand only (POST /api/cdc/drift) */
      DRIFT_INTERVAL_SECONDS: env.nonNegativeNumber(0),
      DRIFT_RANGE_SIZE: env.positiveInt(1000),
      /** the proxy's admin API and its token, for the dashboard's routes table (optional) */
      PROXY_ADMIN_URL: env.url().optional(),
      PROXY_ADMIN_TOKEN: z.string().optional(),
      /** consuming services timed by the heartbeat probe: `name=url,…` (each answers `GET <url>/cdc/applied`) */
      CDC_MONITOR_SERVICES: z
        .string()
        .default('')
        .transform((v, ctx) => {
          const { services, problems } = parseServices(v);
          for (const message of problems) ctx.addIssue({ code: 'custom', message });
          return services;
        }),
      /** how often the probe writes its row of public.cdc_heartbeat; 0 turns the probe off */
      CDC_PROBE_INTERVAL_SECONDS: env.nonNegativeNumber(10),
      /** the row the probe upserts (Debezium's heartbeat action query owns id 1) */
      CDC_PROBE_ROW_ID: z.coerce
        .number()
        .int()
        .positive()
        .refine((n) => n !== 1, 'id 1 is the row of Debezium’s own heartbeat')
        .default(2),
      CDC_PROBE_TOPIC: z.string().min(1).default('monolith.public.cdc_heartbeat'),
      /** a probe pending longer than this (or an unreachable service) makes the snapshot unhealthy */
      CDC_PROBE_ALARM_SECONDS: env.nonNegativeNumber(60),
      /** how often the dashboard's server-sent events push the snapshot */
      DASHBOARD_PUSH_SECONDS: env.nonNegativeNumber(3),
      LOG_LEVEL: env.logLevel(),
      ...OIDC_ENV,
    },
    source,
  );
  return Object.freeze({ ...config, oidc: oidcSettingsOf(config) });
}

/** People signing in to the dashboard with OIDC (all optional: off while MONITOR_OIDC_ISSUER is unset). */
const OIDC_ENV = {
  /** the OpenID Provider; https, or http on a loopback address (local runs) */
  MONITOR_OIDC_ISSUER: env.url().optional(),
  MONITOR_OIDC_CLIENT_ID: z.string().min(1).optional(),
  /** absent: a public client (PKCE alone) */
  MONITOR_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  /** where browsers reach the dashboard; the provider sends them back to `<this>/auth/callback` */
  MONITOR_PUBLIC_URL: env.url().optional(),
  /** seals the session cookies; the same on every replica */
  MONITOR_SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  MONITOR_OIDC_SCOPES: z.string().min(1).default('openid profile'),
  /** resource indicator (RFC 8707) asked for: the audience of the proxy's admin API, when the provider needs it */
  MONITOR_OIDC_RESOURCE: z.string().min(1).optional(),
  /** the claim of the access token (else of the ID token) listing the person's roles; dotted path allowed */
  MONITOR_OIDC_ROLES_CLAIM: z.string().min(1).default('roles'),
  /** the longest a session lasts, whatever the access token's lifetime */
  MONITOR_SESSION_MAX_SECONDS: env.positiveInt(8 * 3600),
};

/** The dashboard's OIDC sign-in settings, checked together. */
export interface OidcSettings {
  readonly issuer: URL;
  readonly clientId: string;
  readonly clientSecret?: string;
  readonly publicUrl: URL;
  /** `<public URL>/auth/callback` */
  readonly redirectUrl: URL;
  readonly sessionSecret: string;
  readonly scopes: string;
  readonly resource?: string;
  readonly rolesClaim: string;
  readonly maxSessionSeconds: number;
}

type OidcEnv = Readonly<z.infer<z.ZodObject<typeof OIDC_ENV>>>;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The OIDC settings, or undefined when MONITOR_OIDC_ISSUER is unset; a ConfigError names every missing variable. */
export function oidcSettingsOf(c: OidcEnv): OidcSettings | undefined {
  const issuer = c.MONITOR_OIDC_ISSUER;
  if (issuer === undefined) {
    const stray = (['MONITOR_OIDC_CLIENT_ID', 'MONITOR_OIDC_CLIENT_SECRET'] as const).filter((k) => c[k] !== undefined);
    if (stray.length > 0) {
      throw new ConfigError(stray.map((k) => `${k}: set, but MONITOR_OIDC_ISSUER is not (OIDC sign-in is off)`));
    }
    return undefined;
  }
  const problems: string[] = [];
  const need = (name: 'MONITOR_OIDC_CLIENT_ID' | 'MONITOR_PUBLIC_URL' | 'MONITOR_SESSION_SECRET') => {
    if (c[name] === undefined) problems.push(`${name}: required with MONITOR_OIDC_ISSUER (variable is not set)`);
  };
  need('MONITOR_OIDC_CLIENT_ID');
  need('MONITOR_PUBLIC_URL');
  need('MONITOR_SESSION_SECRET');
  const issuerUrl = new URL(issuer);
  if (issuerUrl.protocol !== 'https:' && !(issuerUrl.protocol === 'http:' && LOOPBACK.has(issuerUrl.hostname))) {
    problems.push(
      `MONITOR_OIDC_ISSUER: must be https (http only on a loopback address) (got ${JSON.stringify(issuer)})`,
    );
  }
  const publicUrl = c.MONITOR_PUBLIC_URL === undefined ? undefined : new URL(c.MONITOR_PUBLIC_URL);
  if (publicUrl && (publicUrl.search !== '' || publicUrl.hash !== '')) {
    problems.push(`MONITOR_PUBLIC_URL: no query or fragment (got ${JSON.stringify(c.MONITOR_PUBLIC_URL)})`);
  }
  if (!c.MONITOR_OIDC_SCOPES.split(' ').includes('openid')) {
    problems.push(`MONITOR_OIDC_SCOPES: must include openid (got ${JSON.stringify(c.MONITOR_OIDC_SCOPES)})`);
  }
  if (problems.length > 0 || !publicUrl) throw new ConfigError(problems);
  return {
    issuer: issuerUrl,
    clientId: c.MONITOR_OIDC_CLIENT_ID!,
    ...(c.MONITOR_OIDC_CLIENT_SECRET !== undefined ? { clientSecret: c.MONITOR_OIDC_CLIENT_SECRET } : {}),
    publicUrl,
    redirectUrl: new URL(`${publicUrl.href.replace(/\/+$/, '')}/auth/callback`),
    sessionSecret: c.MONITOR_SESSION_SECRET!,
    scopes: c.MONITOR_OIDC_SCOPES,
    ...(c.MONITOR_OIDC_RESOURCE !== undefined ? { resource: c.MONITOR_OIDC_RESOURCE } : {}),
    rolesClaim: c.MONITOR_OIDC_ROLES_CLAIM,
    maxSessionSeconds: c.MONITOR_SESSION_MAX_SECONDS,
  };
}

/** The parsed monitor configuration. */
export type MonitorConfig = ReturnType<typeof loadMonitorConfig>;
