import { createPool, type Logger } from '@warmhouse/shared';
import type { ChangeEventConsumer } from '@warmhouse/cdc';
import type { Admin } from 'kafkajs';
import { createEventProducer, defaultDeadLetterTopic, ensureTopics, type MessageConsumer } from '@warmhouse/messaging';
import type { Pool } from 'pg';
import { ServiceParts, listenAsPart } from '@warmhouse/service-kit';
import { createApp, type ReadinessCheck } from './app';
import { appliedStoreOf, createCdcFeed } from './cdc/feed';
import { deadLetterTopicOf, type TelemetryConfig } from './config';
import { ProjectionStore } from './data/projection-store';
import { ReadModels } from './data/read-models';
import { migrateTelemetryDatabase } from './database';
import { telemetryError } from './errors';
import { createOpenApi, loadDocument } from './http/openapi';
import { createCommandLog, createKafka, ensureCommandTopic, type CommandLog } from './kafka/command-log';
import { createMetrics, type TelemetryMetrics } from './metrics';
import { createProjector, type Projector } from './projector/projector';
import { createRetentionSweeper, type RetentionSweeper } from './projector/retention-sweeper';
import { createSagaCommandConsumer } from './saga/command-consumer';
import { createFirstReadingWatcher, type FirstReadingWatcher } from './saga/first-reading-watcher';
import { provisioningRepository } from './saga/provisioning-repository';

/** A running telemetry process (whichever roles it has). */
export interface RunningTelemetry {
  /** base URL of the HTTP API, when the process runs the api role */
  url?: string;
  pool: Pool;
  metrics: TelemetryMetrics;
  projector?: Projector;
  /** deletes raw readings past their provisioned device's retention (role projector) */
  retentionSweeper?: RetentionSweeper;
  cdcFeed?: ChangeEventConsumer;
  /** the connect-device saga participant (role saga) */
  sagaCommands?: MessageConsumer;
  firstReadingWatcher?: FirstReadingWatcher;
  /** graceful: stop taking requests, finish what is in flight, leave the consumer groups, close connections */
  stop(): Promise<void>;
}

/**
 * Starts the roles named in TELEMETRY_ROLES. The HTTP server is the one part every process has (health and
 * metrics); without the api role it answers only those.
 */
export async function startTelemetry(config: TelemetryConfig, logger: Logger): Promise<RunningTelemetry> {
  const roles = new Set(config.TELEMETRY_ROLES);
  if (config.DATABASE_MIGRATE) await migrateTelemetryDatabase(config.DATABASE_URL);
  const pool = createPool(config.DATABASE_URL, logger, { max: config.DATABASE_POOL_SIZE });
  const metrics = createMetrics();
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID, logger });
  const admin: Admin = kafka.admin();
  const parts = new ServiceParts(logger);
  parts.onStop(() => pool.end());

  try {
    await admin.connect();
    parts.onStop(() => admin.disconnect());
    const dlqTopic = deadLetterTopicOf(config);
    await ensureCommandTopic(admin, config.TELEMETRY_COMMAND_TOPIC, config.TELEMETRY_COMMAND_PARTITIONS, dlqTopic);

    const commandLog: CommandLog = createCommandLog({
      kafka,
      topic: config.TELEMETRY_COMMAND_TOPIC,
      deadLetterTopic: dlqTopic,
      logger,
    });
    await commandLog.connect();
    parts.onStop(() => commandLog.disconnect());

    const store = new ProjectionStore(pool);
    let projector: Projector | undefined;
    let retentionSweeper: RetentionSweeper | undefined;
    if (roles.has('projector')) {
      projector = await parts.start(
        createProjector({
          kafka,
          pool,
          topic: config.TELEMETRY_COMMAND_TOPIC,
          groupId: config.TELEMETRY_PROJECTOR_GROUP,
          commandLog,
          logger,
          metrics,
          concurrency: config.TELEMETRY_PROJECTOR_CONCURRENCY,
          chunkSize: config.TELEMETRY_PROJECTOR_CHUNK,
          sessionTimeoutMs: config.TELEMETRY_PROJECTOR_SESSION_TIMEOUT_MS,
          store,
        }),
      );
      retentionSweeper = await parts.start(
        createRetentionSweeper({
          pool,
          intervalMs: config.TELEMETRY_RETENTION_SWEEP_INTERVAL_MS,
          batchSize: config.TELEMETRY_RETENTION_SWEEP_BATCH,
          logger,
          metrics,
        }),
      );
    }

    const appliedStore = appliedStoreOf(pool);
    let cdcFeed: ChangeEventConsumer | undefined;
    if (roles.has('cdc')) {
      cdcFeed = await parts.start(
        createCdcFeed({
          kafka,
          pool,
          commandLog,
          topics: [config.CDC_HEATING_TOPIC, config.CDC_SENSORS_TOPIC],
          groupId: config.TELEMETRY_CDC_GROUP,
          ...(config.TELEMETRY_CDC_DEAD_LETTER_TOPIC
            ? { deadLetterTopic: config.TELEMETRY_CDC_DEAD_LETTER_TOPIC }
            : {}),
          houseId: config.TELEMETRY_LEGACY_HOUSE_ID,
          heartbeatTopic: config.CDC_HEARTBEAT_TOPIC,
          logger,
          metrics,
          appliedStore,
        }),
      );
    }

    let sagaCommands: MessageConsumer | undefined;
    let firstReadingWatcher: FirstReadingWatcher | undefined;
    if (roles.has('saga')) {
      await ensureTopics(
        admin,
        [
          config.TELEMETRY_SAGA_COMMANDS_TOPIC,
          defaultDeadLetterTopic(config.TELEMETRY_SAGA_COMMANDS_TOPIC),
          config.TELEMETRY_SAGA_REPLIES_TOPIC,
        ].map((topic) => ({ topic })),
      );
      const producer = createEventProducer(kafka, { logger: logger.child({ module: 'saga-replies-producer' }) });
      await producer.connect();
      parts.onStop(() => producer.disconnect());
      sagaCommands = await parts.start(
        createSagaCommandConsumer({
          kafka,
          pool,
          producer,
          commandsTopic: config.TELEMETRY_SAGA_COMMANDS_TOPIC,
          repliesTopic: config.TELEMETRY_SAGA_REPLIES_TOPIC,
          groupId: config.TELEMETRY_SAGA_GROUP,
          maxRetentionDays: config.TELEMETRY_MAX_RETENTION_DAYS,
          logger,
        }),
      );
      firstReadingWatcher = await parts.start(
        createFirstReadingWatcher({
          pool,
          producer,
          repliesTopic: config.TELEMETRY_SAGA_REPLIES_TOPIC,
          pollMs: config.TELEMETRY_FIRST_READING_POLL_MS,
          logger,
        }),
      );
    }

    const readModels = new ReadModels(pool);
    const document = loadDocument();
    const openapi = await createOpenApi(document);
    const running = (name: string, ok: () => boolean): ReadinessCheck => ({
      name,
      check: async () => ok() || 'not running',
    });
    const checks: ReadinessCheck[] = [
      {
        name: 'database',
        check: async () => {
          await readModels.ping();
          return true;
        },
      },
      { name: 'command-log', check: async () => commandLog.connected() || 'not connected' },
      ...(projector ? [running('projector', () => projector.healthy())] : []),
      ...(sagaCommands ? [running('saga-commands', () => sagaCommands.running())] : []),
    ];
    const readiness = () => checks;
    const beforeScrape = async () => {
      if (!projector) return;
      const [high, applied] = await Promise.all([
        admin.fetchTopicOffsets(config.TELEMETRY_COMMAND_TOPIC),
        store.offsets(config.TELEMETRY_COMMAND_TOPIC),
      ]);
      for (const p of high) {
        const done = applied.get(p.partition) ?? BigInt(p.low);
        metrics.offsetLag.set({ partition: String(p.partition) }, Number(BigInt(p.high) - done));
      }
    };
    const app = createApp({
      logger,
      metrics,
      // the whole service's positions, from its database: the same answer from every replica and every role
      cdcSources: () => [appliedStore],
      openapi,
      document,
      commandLog: roles.has('api')
        ? commandLog
        : {
            append: () =>
              Promise.reject(
                telemetryError('TELEMETRY_ERR_UNAVAILABLE', 'this process does not run the api role (TELEMETRY_ROLES)'),
              ),
          },
      readModels,
      provisioning: (deviceIds) => provisioningRepository.ingestProvisioning(pool, deviceIds),
      ownership: {
        required: config.TELEMETRY_REQUIRE_IDENTITY,
        ownersOf: (deviceIds) => provisioningRepository.owners(pool, deviceIds),
      },
      limits: {
        maxBatch: config.TELEMETRY_MAX_BATCH,
        maxBodyBytes: config.TELEMETRY_MAX_BODY_BYTES,
        window: {
          maxAgeMs: config.TELEMETRY_MAX_AGE_HOURS * 3600_000,
          maxFutureMs: config.TELEMETRY_MAX_FUTURE_SECONDS * 1000,
        },
      },
      readiness,
      beforeScrape,
    });
    const { url } = await listenAsPart(app, parts, {
      port: config.PORT,
      host: config.HOST,
      graceMs: config.SHUTDOWN_GRACE_MS,
      keepAliveTimeoutMs: 65_000,
    });
    logger.info({ event: 'telemetry_started', url, roles: [...roles] }, `telemetry listening on ${url}`);

    return {
      url,
      pool,
      metrics,
      ...(projector ? { projector } : {}),
      ...(retentionSweeper ? { retentionSweeper } : {}),
      ...(cdcFeed ? { cdcFeed } : {}),
      ...(sagaCommands ? { sagaCommands } : {}),
      ...(firstReadingWatcher ? { firstReadingWatcher } : {}),
      stop: () => parts.stop(),
    };
  } catch (err) {
    await parts.stop();
    throw err;
  }
}
