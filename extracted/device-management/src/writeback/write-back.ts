import {
  createMessageConsumer,
  messagingError,
  type HandlerContext,
  type MessageConsumer,
  type ParsedMessage,
  type SourceMessage,
} from '@warmhouse/messaging';
import type { Pool, PoolClient } from 'pg';
import { withTransaction } from '@warmhouse/shared';
import type { Logger } from 'pino';
import { writeBackRepository, type WriteBack } from '../data/outbox-repository';
import type { SettingField } from '../domain/device';
import { parseDeviceEvent, type DeviceEvent } from '../domain/events';
import type { DeviceMetrics } from '../metrics';

export type WriteBackResult = 'applied' | 'no_change' | 'duplicate' | 'stale' | 'not_ours' | 'unknown';

/** Fields of a write-back that are not older than what was already written back for them (the version guard). */
export function fieldsToWrite(
  wb: Pick<WriteBack, 'fields' | 'deviceVersion'>,
  applied: ReadonlyMap<SettingField, number>,
): SettingField[] {
  return wb.fields.filter((f) => (applied.get(f) ?? Number.NEGATIVE_INFINITY) <= wb.deviceVersion);
}

/**
 * Applies one domain event to the monolith database, if it is a settings change this service made to a device
 * that came from the monolith. The values come from the `write_backs` row written in the same transaction as the
 * change (exact doubles, NaN included), and only the settings the change set are written.
 *
 * Safe with several replicas and concurrent deliveries of one event (docs/service-replicas.md):
 * - the monolith transaction first locks the heating system's row, so write-backs of one device run one at a time;
 * - the write-back row is read `FOR UPDATE` in device management's database: a delivery of an event already handled
 *   (applied, no_change, superseded, echoed) is a `duplicate` — unless the monolith transaction it recorded was
 *   rolled back (txid_status), then it is applied again;
 * - version guard: a field already written back at a newer device version is not written; an event with no field
 *   left is refused as `stale` (state `superseded`);
 * - the outcome (state, the monolith transaction's id) commits before the monolith transaction does, so the CDC
 *   echo of this write (same `source.txId`) is always recognised as ours (see heating-projection.ts).
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
    const client = await monolithPool.connect();
    let outcome: { result: WriteBackResult; wb?: WriteBack; fields?: SettingField[] };
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ xact: string }>(`SELECT txid_current()::text AS xact`);
      const xact = BigInt(rows[0]?.xact ?? 0);
      await client.query('SELECT 1 FROM heating_systems WHERE id = $1 FOR UPDATE', [event.legacyId.toString()]);
      outcome = await withTransaction(pool, async (tx) => {
        const wb = await writeBackRepository.find(tx, event.eventId, { forUpdate: true });
        if (!wb) return { result: 'unknown' as const };
        if (wb.state !== 'pending' && !(await rolledBack(client, wb))) return { result: 'duplicate' as const, wb };
        const fields = fieldsToWrite(wb, await writeBackRepository.appliedVersions(tx, wb.deviceId, wb.fields));
        if (fields.length === 0) {
          await writeBackRepository.markSuperseded(tx, wb.eventId);
          return { result: 'stale' as const, wb };
        }
        const changed = await updateMonolith(client, wb, fields);
        await writeBackRepository.recordApplied(tx, { eventId: wb.eventId, xact, changedRow: changed });
        await writeBackRepository.recordVersions(tx, { ...wb, fields });
        return { result: changed ? ('applied' as const) : ('no_change' as const), wb, fields };
      });
      await client.query(outcome.result === 'applied' || outcome.result === 'no_change' ? 'COMMIT' : 'ROLLBACK');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    const { result, wb, fields } = outcome;
    if (result === 'unknown') {
      ctx.logger.warn({ event: 'write_back_unknown', eventId: event.eventId }, 'no write-back record for this event');
    } else if (result === 'stale') {
      ctx.logger.warn(
        { event: 'write_back_stale', eventId: event.eventId, deviceVersion: wb?.deviceVersion, fields: wb?.fields },
        'refused: a newer change of these settings was already written back to the monolith',
      );
    } else if (result !== 'duplicate') {
      ctx.logger.info(
        { event: 'write_back_applied', eventId: event.eventId, legacyId: event.legacyId.toString(), fields },
        result === 'applied' ? 'change written back to the monolith' : 'the monolith already had these values',
      );
    }
    return result;
  }
}

/** Whether the monolith transaction a handled write-back recorded was rolled back (then it must be applied again). */
async function rolledBack(monolith: PoolClient, wb: WriteBack): Promise<boolean> {
  if (wb.state === 'echoed' || wb.state === 'superseded' || wb.monolithXact === null) return false;
  const { rows } = await monolith.query<{ status: string | null }>('SELECT txid_status($1) AS status', [
    wb.monolithXact.toString(),
  ]);
  return rows[0]?.status === 'aborted';
}

/** Like the monolith's save-if-changed: writes `fields` only when one differs (no CDC event otherwise). */
async function updateMonolith(monolith: PoolClient, wb: WriteBack, fields: SettingField[]): Promise<boolean> {
  const values: unknown[] = [wb.legacyId.toString()];
  const sets: string[] = [];
  const differs: string[] = [];
  if (fields.includes('on')) {
    values.push(wb.settings.on);
    sets.push(`is_on = $${values.length}`);
    differs.push(`is_on IS DISTINCT FROM $${values.length}`);
  }
  if (fields.includes('targetTemperature')) {
    values.push(wb.settings.targetTemperature);
    sets.push(`target_temperature = $${values.length}::float8`);
    differs.push(`target_temperature IS DISTINCT FROM $${values.length}::float8`);
  }
  const update = await monolith.query(
    `UPDATE heating_systems SET ${sets.join(', ')} WHERE id = $1 AND (${differs.join(' OR ')})`,
    values,
  );
  return (update.rowCount ?? 0) > 0;
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
