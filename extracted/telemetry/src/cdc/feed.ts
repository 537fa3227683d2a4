import type { Logger } from '@warmhouse/shared';
import {
  createAppliedStore,
  createChangeEventConsumer,
  monolithTables,
  positionOf,
  type AppliedStore,
  type ChangeEventConsumer,
  type ChangeHandlerContext,
} from '@warmhouse/cdc';
import { withTransaction, type Queryable } from '@warmhouse/shared';
import type { Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import { legacyDeviceId, legacyEffect, type LegacyEffect } from '../domain/legacy';
import type { CommandLog } from '../kafka/command-log';
import type { TelemetryMetrics } from '../metrics';

/** Options of {@link createCdcFeed}. */
export interface CdcFeedOptions {
  kafka: Kafka;
  pool: Pool;
  commandLog: Pick<CommandLog, 'append'>;
  /** Debezium topics of heating_systems and temperature_sensors */
  topics: string[];
  groupId: string;
  deadLetterTopic?: string;
  /** Debezium heartbeat topic: advances the applied position (`GET /cdc/applied`) while the tables are idle */
  heartbeatTopic?: string;
  /** house the monolith's devices belong to */
  houseId: string;
  logger: Logger;
  metrics?: TelemetryMetrics;
  /** where applied positions are recorded (with the legacy device row when there is one) */
  appliedStore?: AppliedStore;
}

/** Telemetry's applied CDC positions (`GET /cdc/applied` for every replica). */
export const appliedStoreOf = (pool: Pool): AppliedStore =>
  createAppliedStore({ pool, table: 'coordination.cdc_applied' });

/**
 * The monolith's overwritten current_temperature columns as a time series: each change event becomes readings on
 * the command log (so they share the write path, de-duplication and rebuilds with API readings), and the legacy
 * device row (exists / deleted) is kept with its CDC position. The change's offset is committed only after both,
 * so a crash replays it, which the idempotency key `lsn-<lsn>` and the position make harmless.
 */
export function createCdcFeed(opts: CdcFeedOptions): ChangeEventConsumer {
  return createChangeEventConsumer({
    kafka: opts.kafka,
    groupId: opts.groupId,
    topics: opts.topics,
    tables: monolithTables,
    logger: opts.logger.child({ module: 'cdc-feed' }),
    fromBeginning: true,
    ...(opts.heartbeatTopic ? { heartbeatTopic: opts.heartbeatTopic } : {}),
    ...(opts.appliedStore ? { appliedStore: opts.appliedStore } : {}),
    deadLetterTopic: opts.deadLetterTopic ?? ((topic) => `${topic}.telemetry.dlq`),
    handle: async (event, ctx) => {
      const effect = legacyEffect(event, positionOf(event), opts.houseId);
      if (effect.readings.length > 0) {
        await opts.commandLog.append(effect.readings, { requestId: ctx.requestId });
        opts.metrics?.cdcReadings.inc({ table: event.table }, effect.readings.length);
        opts.metrics?.readingsAccepted.inc({ source: 'cdc' }, effect.readings.length);
      }
      // the readings are on the command log; the device row and the position commit together (without a device
      // row the consumer records the position right after this resolves)
      if (effect.device) await storeLegacyDevice(opts.pool, effect, ctx);
    },
  });
}

function storeLegacyDevice(pool: Pool, effect: LegacyEffect, ctx: Pick<ChangeHandlerContext, 'applied'>) {
  return withTransaction(pool, async (tx) => {
    await ctx.applied(tx);
    await upsertLegacyDevice(tx, effect);
  });
}

async function upsertLegacyDevice(pool: Queryable, effect: LegacyEffect): Promise<void> {
  const device = effect.device!;
  const position = effect.position.toString();
  if ('truncated' in device) {
    await pool.query(
      `UPDATE feed.legacy_devices SET deleted = true, cdc_position = $2, updated_at = now()
       WHERE kind = $1 AND cdc_position < $2`,
      [device.kind, position],
    );
    return;
  }
  await pool.query(
    `INSERT INTO feed.legacy_devices AS d (kind, legacy_id, device_id, deleted, cdc_position) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (kind, legacy_id) DO UPDATE
       SET deleted = EXCLUDED.deleted, cdc_position = EXCLUDED.cdc_position, updated_at = now()
       WHERE d.cdc_position < EXCLUDED.cdc_position OR (d.cdc_position = 0 AND EXCLUDED.cdc_position = 0)`,
    [device.kind, device.legacyId, legacyDeviceId(device.kind, device.legacyId), device.deleted, position],
  );
}
