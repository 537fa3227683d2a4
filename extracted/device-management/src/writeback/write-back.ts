import {
  cdcError,
  createBatchProcessor,
  DEFAULT_BACKOFF,
  isRetriableError,
  kafkajsLogCreator,
  type ConsumerStats,
  type HandlerContext,
  type ParsedMessage,
  type SourceMessage,
} from '@warmhouse/cdc';
import { Kafka, logLevel } from 'kafkajs';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { writeBackRepository } from '../data/outbox-repository';
import { parseDeviceEvent, type DeviceEvent } from '../domain/events';
import type { DeviceMetrics } from '../metrics';

export type WriteBackResult = 'applied' | 'no_change' | 'duplicate' | 'not_ours' | 'unknown';

/**
 * Applies one domain event to the monolith database, if it is a settings change this service made to a device
 * that came from the monolith. The values come from the `write_backs` row written in the same transaction as the
 * change (exact doubles, NaN included), and only the settings the change set are written.
 *
 * The monolith transaction's id is recorded on the write-back *before* that transaction commits, so the CDC echo
 * of this write (same `source.txId`) is always recognised as ours (see heating-projection.ts).
 */
export function createWriteBackHandler({
  pool,
  monolithPool,
  metrics,
}: {
  pool: Pool;
  monolithPool: Pool;
  metrics: DeviceMetrics;
}) {
  return async (event: DeviceEvent, ctx: Pick<HandlerContext, 'logger'>): Promise<WriteBackResult> => {
    const result = await apply(event, ctx);
    metrics.writeBacks.inc({ result });
    return result;
  };

  async function apply(event: DeviceEvent, ctx: Pick<HandlerContext, 'logger'>): Promise<WriteBackResult> {
    // only our own changes go to the monolith: changes that came from it (origin monolith) would ping-pong
    if (event.type !== 'device.settings-changed' || event.origin !== 'device-management' || event.legacyId === null) {
      return 'not_ours';
    }
    const wb = await writeBackRepository.find(pool, event.eventId);
    if (!wb) {
      ctx.logger.warn({ event: 'write_back_unknown', eventId: event.eventId }, 'no write-back record for this event');
      return 'unknown';
    }
    if (wb.state !== 'pending') return 'duplicate';

    const values: unknown[] = [wb.legacyId.toString()];
    const sets: string[] = [];
    const differs: string[] = [];
    if (wb.fields.includes('on')) {
      values.push(wb.settings.on);
      sets.push(`is_on = $${values.length}`);
      differs.push(`is_on IS DISTINCT FROM $${values.length}`);
    }
    if (wb.fields.includes('targetTemperature')) {
      values.push(wb.settings.targetTemperature);
      sets.push(`target_temperature = $${values.length}::float8`);
      differs.push(`target_temperature IS DISTINCT FROM $${values.length}::float8`);
    }

    const client = await monolithPool.connect();
    let changed: boolean;
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ xid: string }>(`SELECT (txid_current() % 4294967296)::bigint AS xid`);
      await writeBackRepository.recordTxid(pool, wb.eventId, BigInt(rows[0]?.xid ?? 0));
      // like the monolith's save-if-changed: an unchanged row is not written (and produces no CDC event)
      const update = await client.query(
        `UPDATE heating_systems SET ${sets.join(', ')} WHERE id = $1 AND (${differs.join(' OR ')})`,
        values,
      );
      await client.query('COMMIT');
      changed = (update.rowCount ?? 0) > 0;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    await writeBackRepository.markApplied(pool, wb.eventId, changed);
    ctx.logger.info(
      {
        event: 'write_back_applied',
        eventId: wb.eventId,
        legacyId: wb.legacyId.toString(),
        fields: wb.fields,
        changed,
      },
      changed ? 'change written back to the monolith' : 'the monolith already had these values',
    );
    return changed ? 'applied' : 'no_change';
  }
}

export interface EventConsumer {
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): ConsumerStats;
  running(): boolean;
}

/**
 * The write-back worker: a consumer of DEVICE_EVENTS_TOPIC (its own group) that applies this service's settings
 * changes of legacy devices to the monolith. Built on @warmhouse/cdc's batch processor: offsets committed only
 * after the handler resolved, retriable failures (monolith down) retried with backoff, unreadable events
 * dead-lettered to `<topic>.dlq`.
 */
export function createWriteBackWorker(opts: {
  pool: Pool;
  monolithPool: Pool;
  brokers: string[];
  clientId: string;
  groupId: string;
  topic: string;
  logger: Logger;
  metrics: DeviceMetrics;
}): EventConsumer {
  const logger = opts.logger.child({ module: 'write-back', groupId: opts.groupId });
  const kafka = new Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    logLevel: logLevel.WARN,
    logCreator: kafkajsLogCreator(logger),
  });
  const consumer = kafka.consumer({ groupId: opts.groupId });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  const stopping = new AbortController();
  const stats: ConsumerStats = { handled: 0, tombstones: 0, deadLettered: 0, retries: 0, commits: 0 };
  const handle = createWriteBackHandler(opts);
  let started = false;

  opts.metrics.collect(
    'device_management_write_backs_in_flight',
    async () => (await writeBackRepository.inFlightSummary(opts.pool)).count,
  );
  opts.metrics.collect(
    'device_management_write_backs_oldest_in_flight_seconds',
    async () => (await writeBackRepository.inFlightSummary(opts.pool)).oldestAgeSeconds,
  );

  const parse = (m: SourceMessage): ParsedMessage<DeviceEvent> => {
    if (m.value === null)
      return { kind: 'tombstone', topic: m.topic, partition: m.partition, offset: m.offset, key: null };
    try {
      return { kind: 'change', event: parseDeviceEvent(m.value) };
    } catch (err) {
      const reason = (err as Error).message;
      throw cdcError('CDC_ERR_EVENT_MALFORMED', reason, { cause: err, details: { reason } });
    }
  };

  const eachBatch = createBatchProcessor<DeviceEvent>({
    groupId: opts.groupId,
    parse,
    handle: async (event, ctx) => {
      await handle(event, ctx);
    },
    deadLetter: async (topic, message) => {
      await producer.send({ topic, messages: [message] });
    },
    deadLetterTopic: (topic) => `${topic}.dlq`,
    isRetriable: isRetriableError,
    backoff: DEFAULT_BACKOFF,
    commitPolicy: { maxMessages: 100, maxMs: 1_000 },
    logger,
    stats,
    signal: stopping.signal,
  });

  let stopped: Promise<void> | undefined;
  return {
    async start() {
      await producer.connect();
      await consumer.connect();
      await consumer.subscribe({ topics: [opts.topic], fromBeginning: true });
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch });
      started = true;
      logger.info({ event: 'write_back_started', topic: opts.topic }, 'write-back worker started');
    },
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        await consumer.disconnect();
        await producer.disconnect();
        logger.info({ event: 'write_back_stopped', stats }, 'write-back worker stopped');
      })();
      return stopped;
    },
    stats: () => ({ ...stats }),
    running: () => started && !stopping.signal.aborted,
  };
}
