import { Kafka, logLevel } from 'kafkajs';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { ChangeEventConsumer } from '@warmhouse/cdc';
import { createEventProducer, defaultDeadLetterTopic, ensureTopics, kafkajsLogCreator } from '@warmhouse/messaging';
import { ServiceParts, listenAsPart, type ServicePart } from '@warmhouse/service-kit';
import { createPool } from '@warmhouse/shared';
import { createApp, type ReadinessCheck } from './app';
import type { DeviceManagementConfig } from './config';
import { createMetrics, type DeviceMetrics } from './metrics';
import { createOutboxRelay, type OutboxRelay } from './outbox/relay';
import { createOrchestrator, type Orchestrator } from './saga/orchestrator';
import { createSagaWorker, type SagaWorker } from './saga/saga-worker';
import { appliedStoreOf, createHeatingSyncConsumer } from './sync/heating-sync';
import { createWriteBackWorker, type EventConsumer } from './writeback/write-back';

export interface RunningDeviceManagement {
  /** http://host:port of the HTTP API */
  url: string;
  port: number;
  pool: Pool;
  metrics: DeviceMetrics;
  relay?: OutboxRelay;
  sync?: ChangeEventConsumer;
  writeBack?: EventConsumer;
  orchestrator: Orchestrator;
  sagaWorker?: SagaWorker;
  /** graceful: stop taking requests, finish in-flight ones, stop consuming (committing what was handled), publish the outbox, close pools */
  stop(): Promise<void>;
}

/**
 * Starts every part this process is configured for: the HTTP API, the CDC read sync, the outbox relay and the
 * write-back worker. Used by main.ts and, in-process, by the integration tests.
 */
export async function startDeviceManagement(
  config: DeviceManagementConfig,
  logger: Logger,
  { defaultMetrics = true }: { defaultMetrics?: boolean } = {},
): Promise<RunningDeviceManagement> {
  const parts = new ServiceParts(logger);
  try {
    const metrics = createMetrics({ defaultMetrics });
    const pool = createPool(config.DATABASE_URL, logger);
    parts.onStop(() => pool.end());
    await pool.query('SELECT 1');

    const kafka = new Kafka({
      clientId: config.KAFKA_CLIENT_ID,
      brokers: config.KAFKA_BROKERS,
      logLevel: logLevel.WARN,
      logCreator: kafkajsLogCreator(logger),
    });
    // the broker's defaults (3 replicas, min.insync.replicas 2 in the 3-broker mode); an existing topic is left alone
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(
      admin,
      [
        config.DEVICE_EVENTS_TOPIC,
        config.SAGA_COMMANDS_TOPIC,
        config.SAGA_REPLIES_TOPIC,
        defaultDeadLetterTopic(config.SAGA_REPLIES_TOPIC),
      ].map((topic) => ({ topic })),
    ).finally(() => admin.disconnect());
    const readiness: ReadinessCheck[] = [];
    /** Starts a part that reports whether it runs, and makes readiness depend on it. */
    const startChecked = async <P extends ServicePart & { running(): boolean }>(name: string, part: P): Promise<P> => {
      const started = await parts.start(part);
      readiness.push({ name, check: async () => started.running() || 'stopped' });
      return started;
    };

    let relay: OutboxRelay | undefined;
    if (config.OUTBOX_RELAY_ENABLED) {
      const producer = createEventProducer(kafka, { logger: logger.child({ module: 'event-producer' }) });
      await producer.connect();
      parts.onStop(() => producer.disconnect());
      relay = await startChecked(
        'outbox-relay',
        createOutboxRelay({
          pool,
          producer,
          topic: config.DEVICE_EVENTS_TOPIC,
          logger,
          metrics,
          pollMs: config.OUTBOX_POLL_MS,
          lockRetryMs: config.OUTBOX_LOCK_RETRY_MS,
        }),
      );
    }

    let writeBack: EventConsumer | undefined;
    if (config.WRITE_BACK_ENABLED) {
      const monolithPool = createPool(config.MONOLITH_DATABASE_URL as string, logger, { max: 4 });
      parts.onStop(() => monolithPool.end());
      writeBack = await startChecked(
        'write-back',
        createWriteBackWorker({
          pool,
          monolithPool,
          brokers: config.KAFKA_BROKERS,
          clientId: `${config.KAFKA_CLIENT_ID}-write-back`,
          groupId: config.WRITE_BACK_GROUP_ID,
          topic: config.DEVICE_EVENTS_TOPIC,
          logger,
          metrics,
        }),
      );
    }

    const appliedStore = appliedStoreOf(pool);
    let sync: ChangeEventConsumer | undefined;
    if (config.CDC_SYNC_ENABLED) {
      sync = await startChecked(
        'cdc-sync',
        createHeatingSyncConsumer({
          pool,
          brokers: config.KAFKA_BROKERS,
          clientId: `${config.KAFKA_CLIENT_ID}-heating-sync`,
          groupId: config.CDC_GROUP_ID,
          topic: config.CDC_HEATING_TOPIC,
          heartbeatTopic: config.CDC_HEARTBEAT_TOPIC,
          deadLetterTopic: config.CDC_DEAD_LETTER_TOPIC,
          logger,
          metrics,
          appliedStore,
          changesPerTransaction: config.CDC_CHANGES_PER_TRANSACTION,
          ...(config.CDC_APPLY === 'batch' ? { batchMaxChanges: config.CDC_BATCH_MAX_CHANGES } : {}),
        }),
      );
    }

    const orchestrator = createOrchestrator({
      pool,
      logger,
      metrics,
      commandsTopic: config.SAGA_COMMANDS_TOPIC,
      replyTimeoutMs: config.SAGA_REPLY_TIMEOUT_MS,
    });
    let sagaWorker: SagaWorker | undefined;
    if (config.SAGA_ENABLED) {
      sagaWorker = await startChecked(
        'connect-saga',
        createSagaWorker({
          kafka,
          orchestrator,
          repliesTopic: config.SAGA_REPLIES_TOPIC,
          groupId: config.SAGA_GROUP_ID,
          timerMs: config.SAGA_TIMER_MS,
          logger,
        }),
      );
    }

    const app = await createApp({
      pool,
      logger,
      metrics,
      readiness,
      // the whole service's positions, from its database: the same answer from every replica
      cdcSources: [appliedStore],
      orchestrator,
      firstReadingWithinSeconds: config.SAGA_FIRST_READING_WITHIN_S,
      requireIdentity: config.DEVICE_MANAGEMENT_REQUIRE_IDENTITY,
    });
    const { port, url } = await listenAsPart(app, parts, {
      port: config.PORT,
      host: config.HOST,
      graceMs: config.SHUTDOWN_GRACE_MS,
    });
    logger.info(
      {
        event: 'listening',
        port,
        parts: { cdcSync: !!sync, outboxRelay: !!relay, writeBack: !!writeBack, connectSaga: !!sagaWorker },
      },
      `device management on ${url}`,
    );

    return {
      url,
      port,
      pool,
      metrics,
      relay,
      sync,
      writeBack,
      orchestrator,
      sagaWorker,
      stop: () => parts.stop(),
    };
  } catch (err) {
    await parts.stop();
    throw err;
  }
}
