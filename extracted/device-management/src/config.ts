import { ConfigError, env, loadConfig, serviceConfigShape, type ConfigOf } from '@warmhouse/shared';
import { CONNECT_SAGA_TOPICS } from '@warmhouse/messaging';
import { z } from 'zod';

/**
 * Environment of the device-management process. Every worker can be switched off so the HTTP API, the CDC
 * sync, the outbox relay and the write-back can run (and scale) as separate processes of the same image.
 */
export const deviceManagementConfigShape = {
  /** PORT, HOST, DATABASE_URL (`device_management`), KAFKA_BROKERS, KAFKA_CLIENT_ID, LOG_LEVEL, SHUTDOWN_GRACE_MS */
  ...serviceConfigShape({ port: 8081, kafkaClientId: 'device-management' }),
  /** the monolith's database, used only by the write-back worker (see README: ownership rule) */
  MONOLITH_DATABASE_URL: env.postgresUrl().optional(),

  /** Debezium topic of the monolith's heating_systems table */
  CDC_HEATING_TOPIC: z.string().min(1).default('monolith.public.heating_systems'),
  CDC_GROUP_ID: z.string().min(1).default('device-management.heating-sync'),
  /** dead-letter topic for malformed change events; default `<CDC_HEATING_TOPIC>.dlq` */
  CDC_DEAD_LETTER_TOPIC: z.string().min(1).optional(),
  CDC_SYNC_ENABLED: env.bool(true),
  /**
   * consecutive changes of heating_systems applied in one transaction (one commit, the applied position recorded
   * in it); 1: a transaction per change. Off (1) by default until the cdc-sync integration test passes with it:
   * see docs/benchmarks/cdc-to-service.md
   */
  CDC_CHANGES_PER_TRANSACTION: env.positiveInt(1),
  /**
   * how heating_systems changes are applied: `batch` (default) applies each fetched batch set-based in one
   * transaction of a few multi-row statements (a failed one is redone change by change); `per-change` runs the
   * handler once per change (with CDC_CHANGES_PER_TRANSACTION). See docs/benchmarks/cdc-to-service.md
   */
  CDC_APPLY: z.enum(['batch', 'per-change']).default('batch'),
  /** most changes one set-based apply transaction takes (CDC_APPLY=batch) */
  CDC_BATCH_MAX_CHANGES: env.positiveInt(500),
  /**
   * Debezium heartbeat topic, consumed only to advance the applied position served at `GET /cdc/applied` while
   * heating_systems is idle; empty turns it off
   */
  CDC_HEARTBEAT_TOPIC: z.string().default('monolith.public.cdc_heartbeat'),

  /** Kafka topic of this service's domain events (`device.registered`, …), keyed by device id */
  DEVICE_EVENTS_TOPIC: z.string().min(1).default('device-management.device-events'),
  OUTBOX_RELAY_ENABLED: env.bool(true),
  /** fallback poll of the outbox when no NOTIFY arrives, ms */
  OUTBOX_POLL_MS: env.positiveInt(500),
  /** how often a standby relay (another replica is the active one) tries to take over, ms */
  OUTBOX_LOCK_RETRY_MS: env.positiveInt(500),

  WRITE_BACK_ENABLED: env.bool(true),
  WRITE_BACK_GROUP_ID: z.string().min(1).default('device-management.write-back'),

  /** the connect-device saga's reply consumer and deadline timer run in this process */
  SAGA_ENABLED: env.bool(true),
  /** commands the orchestrator sends (telemetry consumes them), keyed by device id */
  SAGA_COMMANDS_TOPIC: z.string().min(1).default(CONNECT_SAGA_TOPICS.commands),
  /** replies telemetry sends back, keyed by device id; malformed ones go to `<topic>.dlq` */
  SAGA_REPLIES_TOPIC: z.string().min(1).default(CONNECT_SAGA_TOPICS.replies),
  SAGA_GROUP_ID: z.string().min(1).default('device-management.connect-saga'),
  /** how long telemetry has to answer a provisioning or de-provisioning command before the saga moves on, ms */
  SAGA_REPLY_TIMEOUT_MS: env.positiveInt(30_000),
  /** how often the timer looks for sagas past their deadline, ms */
  SAGA_TIMER_MS: env.positiveInt(500),
  /** default time a new device has to send its first reading (the request may set its own), seconds */
  SAGA_FIRST_READING_WITHIN_S: env.positiveInt(600),

  /**
   * ownership on `/api/v1`: a request without `X-Strangler-Subject` (set by the proxy after it verified a token)
   * answers 401, and every read and write is scoped to the caller's devices (docs/identity-headers.md); off by
   * default, for a deployment whose proxy does not authenticate yet. The legacy `/api/heating` routes stay anonymous.
   */
  DEVICE_MANAGEMENT_REQUIRE_IDENTITY: env.bool(false),
};

export type DeviceManagementConfig = ConfigOf<typeof deviceManagementConfigShape>;

/** Parses the environment once at start-up; every problem is reported at once, naming the variable. */
export function loadDeviceManagementConfig(e: NodeJS.ProcessEnv = process.env): DeviceManagementConfig {
  const config = loadConfig(deviceManagementConfigShape, e);
  if (config.WRITE_BACK_ENABLED && !config.MONOLITH_DATABASE_URL) {
    throw new ConfigError([
      'MONOLITH_DATABASE_URL: required while WRITE_BACK_ENABLED is true (the write-back worker writes to the monolith database) (variable is not set)',
    ]);
  }
  return config;
}
