import {
  createAppliedStore,
  createChangeEventConsumer,
  formatLsn,
  monolithTables,
  parseLsn,
  type AppliedStore,
  type ChangeEventConsumer,
  type ChangeEventOf,
  type ChangeHandlerContext,
} from '@warmhouse/cdc';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';
import { withTransaction } from '@warmhouse/shared';
import { devicesRepository } from '../data/devices-repository';
import { outboxRepository, writeBackRepository } from '../data/outbox-repository';
import { deviceDeleted, deviceRegistered, deviceSettingsChanged } from '../domain/events';
import type { DeviceMetrics } from '../metrics';
import { applyStagesOf } from './apply-stages';
import { applyHeatingBatch, reportBatch } from './heating-apply';
import type { BatchChange } from './heating-plan';
import { projectHeatingChange, type HeatingImage } from './heating-projection';

/** The one table this consumer reads. */
export const heatingTables = { 'public.heating_systems': monolithTables['public.heating_systems'] } as const;
export type HeatingChangeEvent = ChangeEventOf<typeof heatingTables>;

const fromMonolith = { origin: 'monolith' as const };

/** Device management's applied CDC positions (`GET /cdc/applied` for every replica). */
export const appliedStoreOf = (pool: Pool): AppliedStore => createAppliedStore({ pool, table: 'public.cdc_applied' });

/**
 * Applies one `heating_systems` change event to the devices table, idempotently (by position), in one
 * transaction with the domain event it causes and its applied position. Resolves only once committed: the consumer
 * commits the Kafka offset after that.
 */
export function createHeatingSyncHandler({ pool, metrics }: { pool: Pool; metrics: DeviceMetrics }) {
  /** the consumer's transaction when it groups changes (`transactions`), else one of the change's own */
  const inTransaction = <T>(ctx: Pick<ChangeHandlerContext, 'tx'>, work: (tx: PoolClient) => Promise<T>) =>
    ctx.tx ? work(ctx.tx) : withTransaction(pool, work);

  return async (
    event: HeatingChangeEvent,
    ctx: Pick<ChangeHandlerContext, 'logger' | 'applied' | 'tx'>,
  ): Promise<void> => {
    const op = event.op;
    if (op === 't') {
      await applyTruncate(event, ctx);
    } else {
      const legacyId = legacyIdOf(event);
      const result = await inTransaction(ctx, async (tx) => {
        await ctx.applied(tx);
        const device = await devicesRepository.findByLegacyId(tx, legacyId, { forUpdate: true });
        const inFlight = device ? await writeBackRepository.inFlight(tx, legacyId) : [];
        const decision = projectHeatingChange(
          { op, after: event.after as HeatingImage | null, lsn: event.lsn, txId: event.txId },
          device && {
            settings: device.settings,
            currentTemperature: device.currentTemperature,
            position: device.cdcPosition === null ? null : parseLsn(device.cdcPosition),
            deleted: device.status === 'deleted',
          },
          inFlight,
        );
        const position = formatLsn(decision.position);
        switch (decision.kind) {
          case 'stale':
            return 'stale';
          case 'ignore':
            ctx.logger.debug({ event: 'cdc_event_ignored', legacyId: String(legacyId), reason: decision.reason });
            return 'ignored';
          case 'create': {
            const created = await devicesRepository.insertLegacy(
              tx,
              legacyId,
              decision.settings,
              decision.currentTemperature,
              position,
            );
            await outboxRepository.add(tx, deviceRegistered(created, fromMonolith));
            return 'created';
          }
          case 'delete': {
            const deleted = await devicesRepository.applyLegacyDelete(tx, (device as { id: string }).id, position);
            await outboxRepository.add(tx, deviceDeleted(deleted, fromMonolith));
            return 'deleted';
          }
          case 'update': {
            const current = device as NonNullable<typeof device>;
            const bump = decision.restore || decision.changed.length > 0;
            const updated = await devicesRepository.applyLegacyChange(tx, current.id, {
              settings: decision.settings,
              currentTemperature: decision.currentTemperature,
              position,
              restore: decision.restore,
              bumpVersion: bump,
            });
            if (decision.echoes.length > 0) await writeBackRepository.markEchoed(tx, decision.echoes, position);
            if (decision.restore) await outboxRepository.add(tx, deviceRegistered(updated, fromMonolith));
            else if (decision.changed.length > 0) {
              await outboxRepository.add(
                tx,
                deviceSettingsChanged(updated, current.settings, decision.changed, fromMonolith),
              );
            }
            if (decision.heldBack.length > 0) {
              ctx.logger.info(
                { event: 'cdc_settings_held_back', legacyId: String(legacyId), fields: decision.heldBack },
                'monolith value not applied: a local change of the same setting is on its way to the monolith',
              );
            }
            if (decision.echoes.length > 0) return 'echo';
            return bump ? 'updated' : 'unchanged';
          }
        }
      });
      metrics.cdcEvents.inc({ op, result });
    }
    observeLag(metrics, event);
  };

  /** TRUNCATE heating_systems: every legacy device synced before it is deleted. */
  async function applyTruncate(
    event: HeatingChangeEvent,
    ctx: Pick<ChangeHandlerContext, 'applied' | 'tx'>,
  ): Promise<void> {
    const position = formatLsn(event.lsn);
    const n = await inTransaction(ctx, async (tx) => {
      await ctx.applied(tx);
      const ids = await devicesRepository.legacyIdsBelow(tx, position);
      for (const id of ids) {
        const deleted = await devicesRepository.applyLegacyDelete(tx, id, position);
        await outboxRepository.add(tx, deviceDeleted(deleted, fromMonolith));
      }
      return ids.length;
    });
    metrics.cdcEvents.inc({ op: 't', result: n > 0 ? 'deleted' : 'unchanged' });
  }
}

/**
 * The set-based apply of a fetched batch (see `applyHeatingBatch`) in the consumer's transaction; a batch holding a
 * truncate goes through the per-change handler, change by change, in the same transaction. Resolves with what to
 * count once the transaction committed.
 */
export function createHeatingBatchApply({ pool, metrics }: { pool: Pool; metrics: DeviceMetrics }) {
  const handle = createHeatingSyncHandler({ pool, metrics });
  const noApplied = () => Promise.resolve();
  return async (
    items: ReadonlyArray<{ event: HeatingChangeEvent; recordTsMs?: number }>,
    ctx: { tx: PoolClient; logger: Logger },
  ): Promise<() => void> => {
    const started = performance.now();
    const startedMs = Date.now();
    const events = items.map((i) => i.event);
    let report: () => void;
    try {
      if (events.some((e) => e.op === 't')) {
        for (const event of events) await handle(event, { tx: ctx.tx, logger: ctx.logger, applied: noApplied });
        report = () => undefined; // the handler counted each change
      } else {
        const applied = await applyHeatingBatch(ctx.tx, events.map(batchChangeOf));
        metrics.cdcApplyStatements.inc(applied.statements);
        report = () => {
          reportBatch(applied, { metrics, logger: ctx.logger });
          for (const event of events) observeLag(metrics, event);
        };
      }
    } catch (err) {
      metrics.cdcApplyTransactions.inc({ result: 'failed' });
      throw err;
    }
    return () => {
      metrics.cdcApplyTransactions.inc({ result: 'committed' });
      metrics.cdcApplySeconds.inc((performance.now() - started) / 1000);
      observeStages(metrics, items, { startedMs, committedMs: Date.now() });
      report();
    };
  };
}

const legacyIdOf = (event: HeatingChangeEvent) => BigInt(event.key?.id ?? event.before?.id ?? event.after?.id ?? NaN);

const batchChangeOf = (event: HeatingChangeEvent): BatchChange => ({
  legacyId: legacyIdOf(event),
  op: event.op,
  after: event.after as HeatingImage | null,
  lsn: event.lsn,
  txId: event.txId,
});

/** Splits each streamed change's freshness into its stages (see `applyStagesOf`). */
function observeStages(
  metrics: DeviceMetrics,
  items: ReadonlyArray<{ event: HeatingChangeEvent; recordTsMs?: number }>,
  batch: { startedMs: number; committedMs: number },
): void {
  for (const { event, recordTsMs } of items) {
    if (event.snapshot) continue;
    const stages = applyStagesOf({ sourceTsMs: event.sourceTsMs, recordTsMs }, batch);
    for (const [stage, s] of Object.entries(stages)) metrics.cdcApplyStage.observe({ stage }, s);
  }
}

function observeLag(metrics: DeviceMetrics, event: HeatingChangeEvent): void {
  if (event.snapshot) return;
  const lag = Math.max(0, (Date.now() - event.sourceTsMs) / 1000);
  metrics.cdcApplyLag.observe(lag);
  metrics.cdcLastApplyLag.set(lag);
}

/** The kafkajs consumer (through @warmhouse/cdc) that keeps the devices table in sync with heating_systems. */
export function createHeatingSyncConsumer(opts: {
  pool: Pool;
  brokers: string[];
  clientId: string;
  groupId: string;
  topic: string;
  /** Debezium heartbeat topic: advances the applied position while heating_systems is idle */
  heartbeatTopic?: string;
  deadLetterTopic?: string;
  logger: Logger;
  metrics: DeviceMetrics;
  /** where applied positions are recorded, in each change's transaction */
  appliedStore?: AppliedStore;
  /** consecutive changes applied in one transaction (one commit for up to this many); default 1: one each */
  changesPerTransaction?: number;
  /** applies each fetched batch set-based, up to this many changes a transaction (wins over changesPerTransaction) */
  batchMaxChanges?: number;
}): ChangeEventConsumer {
  const consumer = createChangeEventConsumer({
    kafka: { brokers: opts.brokers, clientId: opts.clientId },
    groupId: opts.groupId,
    topics: [opts.topic],
    tables: heatingTables,
    logger: opts.logger.child({ module: 'heating-sync' }),
    handle: createHeatingSyncHandler({ pool: opts.pool, metrics: opts.metrics }),
    deadLetterTopic: opts.deadLetterTopic,
    heartbeatTopic: opts.heartbeatTopic || undefined,
    fromBeginning: true,
    ...(opts.appliedStore ? { appliedStore: opts.appliedStore } : {}),
    ...(opts.batchMaxChanges
      ? {
          batch: {
            pool: opts.pool,
            maxChanges: opts.batchMaxChanges,
            apply: createHeatingBatchApply({ pool: opts.pool, metrics: opts.metrics }),
          },
        }
      : {}),
    ...((opts.changesPerTransaction ?? 1) > 1
      ? { transactions: { pool: opts.pool, maxMessages: opts.changesPerTransaction } }
      : {}),
  });
  opts.metrics.collect('device_management_cdc_dead_lettered', async () => consumer.stats().deadLettered);
  return consumer;
}
