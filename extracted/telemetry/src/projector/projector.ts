import type { Logger } from '@warmhouse/shared';
import { backoffDelay, consumerLifecycle, DLQ_HEADERS, sleep } from '@warmhouse/messaging';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Pool } from 'pg';
import { decodeCommand } from '../domain/command';
import { ProjectionStore, type ProjectedRecord } from '../data/projection-store';
import type { CommandLog } from '../kafka/command-log';
import type { TelemetryMetrics } from '../metrics';

/** Options of {@link createProjector}. */
export interface ProjectorOptions {
  kafka: Kafka;
  pool: Pool;
  /** the command log */
  topic: string;
  groupId: string;
  /** dead-letters unreadable records */
  commandLog: Pick<CommandLog, 'deadLetter'>;
  logger: Logger;
  metrics?: TelemetryMetrics;
  /** partitions applied at the same time; default 6 */
  concurrency?: number;
  /** most readings per read-model transaction (whole records: one may exceed it); default 1000 */
  chunkSize?: number;
  /** where the read models are; default the live schema (a rebuild passes its own) */
  store?: ProjectionStore;
  /** called after each committed chunk (rebuild progress) */
  onApplied?: (partition: number, nextOffset: bigint) => void;
  /**
   * Offsets not to apply yet, per partition (a rebuild stops exactly where the live read models are). A partition
   * reaching its limit is paused until {@link Projector.resume}; a partition without an entry is not applied at all.
   */
  limits?: Map<number, bigint>;
  /** kafkajs session timeout, ms; default 30000 */
  sessionTimeoutMs?: number;
}

/** A running projector: command log → read models. */
export interface Projector {
  start(): Promise<void>;
  /** finishes the chunk in flight, leaves the group; idempotent */
  stop(): Promise<void>;
  /** false before start, after stop, and while the consumer has crashed */
  healthy(): boolean;
  /** resumes partitions paused at their limit (after the limits were raised) */
  resume(): void;
  readonly store: ProjectionStore;
}

interface Chunk extends ProjectedRecord {
  message: KafkaMessage;
  reason?: string;
}

/**
 * The read side's writer. Consumes the command log in partition order and applies each chunk of records in one
 * transaction that also stores the partition's next offset ({@link ProjectionStore}): the database, not the
 * consumer group, says what has been applied, so a kill -9 at any point neither loses nor double-counts a reading.
 * Unreadable records are dead-lettered, counted and skipped; database failures are retried with backoff and never
 * skip a record.
 */
export function createProjector(opts: ProjectorOptions): Projector {
  const logger = opts.logger.child({ module: 'projector', groupId: opts.groupId, topic: opts.topic });
  const store = opts.store ?? new ProjectionStore(opts.pool);
  const chunkSize = opts.chunkSize ?? 1000;
  const metrics = opts.metrics;
  const consumer: Consumer = opts.kafka.consumer({
    groupId: opts.groupId,
    maxBytesPerPartition: 1024 * 1024,
    maxWaitTimeInMs: 50,
    sessionTimeout: opts.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: 3_000,
  });
  let stopping = false;
  /** false after a crash kafkajs does not restart from */
  let alive = true;
  const paused = new Set<number>();

  consumer.on(consumer.events.CRASH, ({ payload }) => {
    alive = payload.restart;
    logger.error(
      { event: 'projector_crashed', err: payload.error, restart: payload.restart },
      'projector consumer crashed',
    );
  });

  const deadLetter = async (fresh: ProjectedRecord[], topic: string, partition: number) => {
    for (const record of fresh as Chunk[]) {
      if (record.readings !== null) continue;
      await opts.commandLog.deadLetter(
        { key: record.message.key, value: record.message.value, headers: record.message.headers },
        {
          [DLQ_HEADERS.reason]: 'malformed',
          [DLQ_HEADERS.error]: record.reason ?? 'unreadable',
          [DLQ_HEADERS.errorCode]: 'TELEMETRY_ERR_COMMAND_MALFORMED',
          [DLQ_HEADERS.topic]: topic,
          [DLQ_HEADERS.partition]: String(partition),
          [DLQ_HEADERS.offset]: record.offset,
          [DLQ_HEADERS.group]: opts.groupId,
          [DLQ_HEADERS.failedAt]: new Date().toISOString(),
        },
      );
      metrics?.deadLettered.inc({ origin: 'command-log' });
      logger.error(
        { event: 'command_dead_lettered', partition, offset: record.offset, reason: record.reason },
        'unreadable command-log record dead-lettered',
      );
    }
  };

  const eachBatch = async ({
    batch,
    heartbeat,
    isRunning,
    isStale,
    resolveOffset,
    commitOffsetsIfNecessary,
  }: EachBatchPayload) => {
    const { topic, partition } = batch;
    const live = () => !stopping && isRunning() && !isStale();
    let messages = batch.messages;
    if (opts.limits) {
      const limit = opts.limits.get(partition) ?? -1n;
      messages = messages.filter((m) => BigInt(m.offset) < limit);
      if (messages.length < batch.messages.length) {
        paused.add(partition);
        consumer.pause([{ topic, partitions: [partition] }]);
      }
    }
    for (let i = 0; i < messages.length;) {
      if (!live()) return;
      // a chunk: whole records, up to chunkSize readings (at least one record)
      const records: Chunk[] = [];
      let size = 0;
      for (; i < messages.length && (records.length === 0 || size < chunkSize); i++) {
        const message = messages[i]!;
        const decoded = decodeCommand(message.key, message.value);
        size += decoded.ok ? decoded.readings.length : 1;
        records.push({
          offset: message.offset,
          readings: decoded.ok ? decoded.readings : null,
          acceptedAtMs: Number(message.timestamp),
          message,
          ...(decoded.ok ? {} : { reason: decoded.reason }),
        });
      }
      let outcome: Awaited<ReturnType<ProjectionStore['apply']>> | undefined;
      for (let attempt = 1; outcome === undefined; attempt++) {
        const started = process.hrtime.bigint();
        try {
          outcome = await store.apply(topic, partition, records, (fresh) => deadLetter(fresh, topic, partition));
          metrics?.projectionWrite.observe(Number(process.hrtime.bigint() - started) / 1e9);
        } catch (err) {
          metrics?.projectionErrors.inc();
          const waitMs = backoffDelay(attempt, { initialMs: 100, maxMs: 5_000, factor: 2 });
          logger.warn(
            { event: 'projection_failed', err, partition, attempt, waitMs },
            'read-model write failed, retrying',
          );
          await sleep(waitMs);
          if (!live()) return;
          await heartbeat();
        }
      }
      if (outcome.kind === 'gap') {
        logger.warn(
          { event: 'projection_gap', partition, fetchedFrom: records[0]?.offset, seekTo: outcome.nextOffset },
          'read models are behind the fetched records; seeking back',
        );
        consumer.seek({ topic, partition, offset: outcome.nextOffset });
        return;
      }
      const now = Date.now();
      let readings = 0;
      for (const r of outcome.applied) {
        if (r.readings === null) continue;
        readings += r.readings.length;
        metrics?.projectionLag.observe(Math.max(0, now - r.acceptedAtMs) / 1000);
      }
      metrics?.projected.inc({ result: 'stored' }, outcome.inserted);
      metrics?.projected.inc({ result: 'duplicate' }, readings - outcome.inserted);
      const lastOffset = records[records.length - 1]!.offset;
      resolveOffset(lastOffset);
      opts.onApplied?.(partition, BigInt(outcome.nextOffset));
      await commitOffsetsIfNecessary();
      await heartbeat();
    }
  };

  const lifecycle = consumerLifecycle({
    consumer,
    subscription: { topics: [opts.topic], fromBeginning: true },
    run: {
      autoCommit: true,
      autoCommitInterval: 1_000,
      partitionsConsumedConcurrently: opts.concurrency ?? 6,
      eachBatch,
    },
    logger,
    name: 'projector',
    startedFields: { schema: store.schema },
    onStopping: () => {
      stopping = true;
    },
  });

  return {
    store,
    start: () => lifecycle.start(),
    stop: () => lifecycle.stop(),
    healthy: () => lifecycle.running() && alive,
    resume() {
      if (paused.size === 0) return;
      const partitions = [...paused];
      paused.clear();
      consumer.resume([{ topic: opts.topic, partitions }]);
    },
  };
}
