import { z } from 'zod';
import { env, loadConfig } from '@warmhouse/shared';
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
  return loadConfig(
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
    },
    source,
  );
}

/** The parsed monitor configuration. */
export type MonitorConfig = ReturnType<typeof loadMonitorConfig>;
