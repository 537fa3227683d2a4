import type { AddressInfo } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { ChangeEventConsumer } from '@warmhouse/cdc';
import { createEventProducer, defaultDeadLetterTopic, ensureTopics, kafkajsLogCreator } from '@warmhouse/messaging';
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
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) {
      await stop().catch((err: unknown) => logger.error({ event: 'stop_failed', err }, 'error while stopping'));
    }
  };
  try {
    const metrics = createMetrics({ defaultMetrics });
    const pool = createPool(config.DATABASE_URL, logger);
    stops.push(() => pool.end());
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

    let relay: OutboxRelay | undefined;
    if (config.OUTBOX_RELAY_ENABLED) {
      const producer = createEventProducer(kafka, { logger: logger.child({ module: 'event-producer' }) });
      await producer.connect();
      stops.push(() => producer.disconnect());
      relay = createOutboxRelay({
        pool,
        producer,
        topic: config.DEVICE_EVENTS_TOPIC,
        logger,
        metrics,
        pollMs: config.OUTBOX_POLL_MS,
        lockRetryMs: config.OUTBOX_LOCK_RETRY_MS,
      });
      await relay.start();
      stops.push(() => relay!.stop());
      readiness.push({ name: 'outbox-relay', check: async () => relay!.running() || 'stopped' });
    }

    let writeBack: EventConsumer | undefined;
    if (config.WRITE_BACK_ENABLED) {
      const monolithPool = createPool(config.MONOLITH_DATABASE_URL as string, logger, { max: 4 });
      stops.push(() => monolithPool.end());
      writeBack = createWriteBackWorker({
        pool,
        monolithPool,
        brokers: config.KAFKA_BROKERS,
        clientId: `${config.KAFKA_CLIENT_ID}-write-back`,
        groupId: config.WRITE_BACK_GROUP_ID,
        topic: config.DEVICE_EVENTS_TOPIC,
        logger,
        metrics,
      });
      await writeBack.start();
      stops.push(() => writeBack!.stop());
      readiness.push({ name: 'write-back', check: async () => writeBack!.running() || 'stopped' });
    }

    const appliedStore = appliedStoreOf(pool);
    let sync: ChangeEventConsumer | undefined;
    if (config.CDC_SYNC_ENABLED) {
      let syncRunning = false;
      sync = createHeatingSyncConsumer({
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
      });
      await sync.start();
      syncRunning = true;
      stops.push(async () => {
        syncRunning = false;
        await sync!.stop();
      });
      readiness.push({ name: 'cdc-sync', check: async () => syncRunning || 'stopped' });
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
      sagaWorker = createSagaWorker({
        kafka,
        orchestrator,
        repliesTopic: config.SAGA_REPLIES_TOPIC,
        groupId: config.SAGA_GROUP_ID,
        timerMs: config.SAGA_TIMER_MS,
        logger,
      });
      await sagaWorker.start();
      stops.push(() => sagaWorker!.stop());
      readiness.push({ name: 'connect-saga', check: async () => sagaWorker!.running() || 'stopped' });
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
    const server = app.listen(config.PORT, config.HOST);
    await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
    stops.push(
      () =>
        new Promise<void>((resolve) => {
          const force = setTimeout(() => server.closeAllConnections(), config.SHUTDOWN_GRACE_MS);
          force.unref();
          server.close(() => {
            clearTimeout(force);
            resolve();
          });
          server.closeIdleConnections();
        }),
    );
    const port = (server.address() as AddressInfo).port;
    const url = `http://${config.HOST}:${port}`;
    logger.info(
      {
        event: 'listening',
        port,
        parts: { cdcSync: !!sync, outboxRelay: !!relay, writeBack: !!writeBack, connectSaga: !!sagaWorker },
      },
      `device management on ${url}`,
    );

    let stopping: Promise<void> | undefined;
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
      stop: () => (stopping ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
