import { MESSAGE_HEADERS, type EventProducer } from '@warmhouse/messaging';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';
import { delay, withTransaction } from '@warmhouse/shared';
import { OUTBOX_CHANNEL, outboxRepository, type OutboxRow } from '../data/outbox-repository';
import type { DeviceMetrics } from '../metrics';

export interface OutboxRelay {
  start(): Promise<void>;
  /** finishes the batch in flight, then stops; idempotent */
  stop(): Promise<void>;
  /** publishes everything unpublished now (tests, shutdown); returns how many rows */
  drain(): Promise<number>;
  running(): boolean;
}

/**
 * Publishes outbox rows to Kafka in commit order, keyed by device id (so one device's events stay in order),
 * and stamps them published in the same database transaction that locked them. At least once: a crash between
 * the Kafka ack and the commit republishes the batch, so consumers de-duplicate on `eventId`.
 *
 * Woken by NOTIFY from the writing transaction, with a poll as fallback (a lost notification only delays).
 * Why a relay in the service rather than Debezium's outbox event router: see README ("Outbox relay").
 */
export function createOutboxRelay({
  pool,
  producer,
  topic,
  logger,
  metrics,
  pollMs,
  batchSize = 200,
}: {
  pool: Pool;
  producer: Pick<EventProducer, 'publish'>;
  topic: string;
  logger: Logger;
  metrics: DeviceMetrics;
  pollMs: number;
  batchSize?: number;
}): OutboxRelay {
  const log = logger.child({ module: 'outbox-relay' });
  let listener: PoolClient | undefined;
  let loop: Promise<void> | undefined;
  let stopping = false;
  let wake: (() => void) | undefined;
  let draining: Promise<number> = Promise.resolve(0);

  metrics.collect('device_management_outbox_backlog', async () => (await outboxRepository.backlog(pool)).count);
  metrics.collect(
    'device_management_outbox_oldest_unpublished_seconds',
    async () => (await outboxRepository.backlog(pool)).oldestAgeSeconds,
  );

  const publishBatch = () =>
    withTransaction(pool, async (tx) => {
      const rows = await outboxRepository.lockBatch(tx, batchSize);
      if (rows.length === 0) return 0;
      // acks=all on an idempotent producer (@warmhouse/messaging): marked published only once every in-sync replica has it.
      // Runs of consecutive rows of one topic go in one send, runs in id order (saga commands have their own topic).
      for (const run of topicRuns(rows, topic)) {
        await producer.publish(
          run.topic,
          run.rows.map((r) => ({
            key: r.aggregateId,
            value: r.payload,
            headers: { ...r.headers, [MESSAGE_HEADERS.eventId]: r.eventId },
          })),
        );
      }
      await outboxRepository.markPublished(
        tx,
        rows.map((r) => r.id),
      );
      for (const r of rows) metrics.outboxPublished.inc({ type: r.eventType });
      log.debug({ event: 'outbox_published', count: rows.length, lastId: rows[rows.length - 1]?.id });
      return rows.length;
    });

  /** One drain at a time: batches are published strictly in order. */
  const drain = (): Promise<number> => {
    draining = draining
      .catch(() => 0)
      .then(async () => {
        let total = 0;
        for (;;) {
          const n = await publishBatch();
          total += n;
          if (n < batchSize || stopping) return total;
        }
      });
    return draining;
  };

  const run = async () => {
    let failures = 0;
    while (!stopping) {
      try {
        await drain();
        failures = 0;
      } catch (err) {
        failures++;
        const waitMs = Math.min(30_000, 200 * 2 ** Math.min(failures, 8));
        log.warn({ event: 'outbox_publish_failed', err, waitMs }, 'publishing the outbox failed, retrying');
        await delay(waitMs);
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  };

  return {
    async start() {
      listener = await pool.connect();
      listener.on('notification', () => wake?.());
      listener.on('error', (err) =>
        log.warn({ event: 'outbox_listener_error', err }, 'LISTEN connection failed; polling'),
      );
      await listener.query(`LISTEN ${OUTBOX_CHANNEL}`);
      loop = run();
      log.info({ event: 'outbox_relay_started', topic }, 'outbox relay started');
    },
    async stop() {
      if (stopping) return loop;
      stopping = true;
      wake?.();
      await loop;
      await draining.catch(() => undefined);
      if (listener) {
        await listener.query(`UNLISTEN ${OUTBOX_CHANNEL}`).catch(() => undefined);
        listener.release();
        listener = undefined;
      }
      log.info({ event: 'outbox_relay_stopped' }, 'outbox relay stopped');
    },
    drain,
    running: () => loop !== undefined && !stopping,
  };
}

/** Consecutive rows grouped by topic (a row without one goes to `defaultTopic`), order kept. */
export function topicRuns(
  rows: readonly OutboxRow[],
  defaultTopic: string,
): Array<{ topic: string; rows: OutboxRow[] }> {
  const runs: Array<{ topic: string; rows: OutboxRow[] }> = [];
  for (const r of rows) {
    const t = r.topic ?? defaultTopic;
    const last = runs[runs.length - 1];
    if (last && last.topic === t) last.rows.push(r);
    else runs.push({ topic: t, rows: [r] });
  }
  return runs;
}
