import { ConfigError, env, loadConfig, serviceConfigShape, type ConfigOf } from '@warmhouse/shared';
import { CONNECT_SAGA_TOPICS } from '@warmhouse/messaging';
import { z } from 'zod';

/** The parts of the service one process runs; all four by default, each can scale as its own process. */
export const ROLES = ['api', 'projector', 'cdc', 'saga'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Environment of the telemetry process. `TELEMETRY_ROLES` picks what it runs: the HTTP API (write and query side),
 * the projector (command log → read models), the CDC feed (monolith change events → command log) and the saga
 * participant (provisioning commands of the connect-device saga, first-reading reports).
 */
export const telemetryConfigShape = {
  /** PORT, HOST, DATABASE_URL (`telemetry`), KAFKA_BROKERS, KAFKA_CLIENT_ID, LOG_LEVEL, SHUTDOWN_GRACE_MS */
  ...serviceConfigShape({ port: 8082, kafkaClientId: 'telemetry' }),
  /** connections of the pool; the projector holds one per partition it is applying */
  DATABASE_POOL_SIZE: env.positiveInt(10),
  /** apply migrations/telemetry at start-up */
  DATABASE_MIGRATE: env.bool(true),
  /** comma-separated subset of api, projector, cdc, saga */
  TELEMETRY_ROLES: env
    .listOr(ROLES)
    .pipe(z.array(z.enum(ROLES)).min(1, 'name at least one of api, projector, cdc, saga')),

  /** the command log: every accepted reading, keyed by device id; never deleted (rebuilds read it from offset 0) */
  TELEMETRY_COMMAND_TOPIC: z.string().min(1).default('telemetry.readings.v1'),
  /** partitions of the command log when this service creates it (the unit of projector parallelism) */
  TELEMETRY_COMMAND_PARTITIONS: env.positiveInt(6),
  /** where unreadable command-log records are parked; default `<TELEMETRY_COMMAND_TOPIC>.dlq` */
  TELEMETRY_DEAD_LETTER_TOPIC: z.string().min(1).optional(),
  TELEMETRY_PROJECTOR_GROUP: z.string().min(1).default('telemetry.projector'),
  /** partitions the projector applies at the same time (each in its own transaction) */
  TELEMETRY_PROJECTOR_CONCURRENCY: env.positiveInt(6),
  /** kafkajs session timeout of the projector: how soon a crashed projector's partitions move to another, ms */
  TELEMETRY_PROJECTOR_SESSION_TIMEOUT_MS: env.positiveInt(30_000),
  /** most readings written to PostgreSQL in one transaction (smaller: lower lag; larger: less overhead) */
  TELEMETRY_PROJECTOR_CHUNK: env.positiveInt(1000),

  /** most readings in one POST (more: 413) */
  TELEMETRY_MAX_BATCH: env.positiveInt(1000),
  /** largest request body in bytes (more: 413) */
  TELEMETRY_MAX_BODY_BYTES: env.positiveInt(1_048_576),
  /** oldest accepted measuredAt, in hours before now (devices that buffered offline backfill up to this) */
  TELEMETRY_MAX_AGE_HOURS: env.positiveInt(24 * 30),
  /** newest accepted measuredAt, in seconds after now (clock skew of devices) */
  TELEMETRY_MAX_FUTURE_SECONDS: env.positiveInt(300),

  /** Debezium topics of the monolith tables whose current_temperature becomes readings */
  CDC_HEATING_TOPIC: z.string().min(1).default('monolith.public.heating_systems'),
  CDC_SENSORS_TOPIC: z.string().min(1).default('monolith.public.temperature_sensors'),
  TELEMETRY_CDC_GROUP: z.string().min(1).default('telemetry.cdc-feed'),
  /**
   * Debezium heartbeat topic, consumed by the CDC feed only to advance the position served at `GET /cdc/applied`
   * while the monolith's tables are idle (the CDC monitor's probe and the proxy's CDC-aware reads read it)
   */
  CDC_HEARTBEAT_TOPIC: z.string().min(1).default('monolith.public.cdc_heartbeat'),
  /** dead-letter topic of malformed change events; default `<source topic>.telemetry.dlq` */
  TELEMETRY_CDC_DEAD_LETTER_TOPIC: z.string().min(1).optional(),
  /** house the monolith's devices belong to in house summaries */
  TELEMETRY_LEGACY_HOUSE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,100}$/)
    .default('warm-house'),

  /** commands of the connect-device saga (device management sends them) */
  TELEMETRY_SAGA_COMMANDS_TOPIC: z.string().min(1).default(CONNECT_SAGA_TOPICS.commands),
  /** replies to them and first-reading reports; device management consumes them */
  TELEMETRY_SAGA_REPLIES_TOPIC: z.string().min(1).default(CONNECT_SAGA_TOPICS.replies),
  TELEMETRY_SAGA_GROUP: z.string().min(1).default('telemetry.saga-commands'),
  /** longest retention telemetry provisions a device with; a longer request is refused (the saga fails) */
  TELEMETRY_MAX_RETENTION_DAYS: env.positiveInt(365),
  /** how often the first-reading watcher looks at the read models, ms */
  TELEMETRY_FIRST_READING_POLL_MS: env.positiveInt(500),

  /**
   * how often the projector role deletes raw readings older than their provisioned device's retention, ms (at most
   * 2^31 - 1, a timer's limit); it also sweeps at start
   */
  TELEMETRY_RETENTION_SWEEP_INTERVAL_MS: z.coerce
    .number()
    .int()
    .positive()
    .max(2 ** 31 - 1)
    .default(3_600_000),
  /** most readings one retention-sweep transaction deletes */
  TELEMETRY_RETENTION_SWEEP_BATCH: env.positiveInt(5000),

  /**
   * ownership on `/api/v1/telemetry`: a request without `X-Strangler-Subject` (set by the proxy after it verified a
   * token) answers 401, reads are scoped to the caller's devices (the owner the connect-device saga provisioned),
   * ingest needs the scope `telemetry:ingest`; off by default. The legacy `/api/heating` route stays anonymous.
   */
  TELEMETRY_REQUIRE_IDENTITY: env.bool(false),
};

export type TelemetryConfig = ConfigOf<typeof telemetryConfigShape>;

/** Parses the environment once at start-up; every problem is reported at once, naming the variable. */
export function loadTelemetryConfig(e: NodeJS.ProcessEnv = process.env): TelemetryConfig {
  const config = loadConfig(telemetryConfigShape, e);
  if (new Set(config.TELEMETRY_ROLES).size !== config.TELEMETRY_ROLES.length) {
    throw new ConfigError([`TELEMETRY_ROLES: names a role twice (got ${JSON.stringify(e.TELEMETRY_ROLES)})`]);
  }
  return config;
}

export const deadLetterTopicOf = (
  config: Pick<TelemetryConfig, 'TELEMETRY_COMMAND_TOPIC' | 'TELEMETRY_DEAD_LETTER_TOPIC'>,
) => config.TELEMETRY_DEAD_LETTER_TOPIC ?? `${config.TELEMETRY_COMMAND_TOPIC}.dlq`;
