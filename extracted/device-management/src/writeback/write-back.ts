import {
  createMessageConsumer,
  messagingError,
  type HandlerContext,
  type MessageConsumer,
  type ParsedMessage,
  type SourceMessage,
} from '@warmhouse/messaging';
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

/**
 * A record of the device events topic as the write-back sees it: an event, a tombstone, a newer event type to skip,
 * or MESSAGE_ERR_MALFORMED (dead-letter it).
 */
export function parseWriteBackMessage(m: SourceMessage): ParsedMessage<DeviceEvent> {
  if (m.value === null) return { kind: 'tombstone' };
  try {
    return { kind: 'message', event: parseDeviceEvent(m.value) };
  } catch (err) {
    const reason = (err as Error).message;
    if ((err as { code?: string }).code === 'DEVICE_ERR_EVENT_UNKNOWN_TYPE') return { kind: 'skip', reason };
    throw messagingError('MESSAGE_ERR_MALFORMED', reason, { cause: err, details: { reason } });
  }
}

/** The write-back worker's consumer (the common MessageConsumer). */
export type EventConsumer = MessageConsumer;

/**
 * The write-back worker: a consumer of DEVICE_EVENTS_TOPIC (its own group) that applies this service's settings
 * changes of legacy devices to the monolith, with the consumer error policy of @warmhouse/messaging: offsets
 * committed only after the handler resolved, retriable failures (monolith down) retried with backoff, unreadable
 * events dead-lettered to `<topic>.dlq`.
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
  const handle = createWriteBackHandler(opts);

  opts.metrics.collect(
    'device_management_write_backs_in_flight',
    async () => (await writeBackRepository.inFlightSummary(opts.pool)).count,
  );
  opts.metrics.collect(
    'device_management_write_backs_oldest_in_flight_seconds',
    async () => (await writeBackRepository.inFlightSummary(opts.pool)).oldestAgeSeconds,
  );

  return createMessageConsumer<DeviceEvent>({
    kafka: { brokers: opts.brokers, clientId: opts.clientId },
    groupId: opts.groupId,
    topics: [opts.topic],
    logger: opts.logger,
    module: 'write-back',
    parse: parseWriteBackMessage,
    handle: async (event, ctx) => {
      await handle(event, ctx);
    },
  });
}
