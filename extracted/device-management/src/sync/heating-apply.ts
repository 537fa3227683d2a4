import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Queryable } from '@warmhouse/shared';
import { devicesRepository } from '../data/devices-repository';
import { outboxRepository, writeBackRepository } from '../data/outbox-repository';
import { deviceDeleted, deviceRegistered, deviceSettingsChanged, type DeviceEvent } from '../domain/events';
import { deviceError } from '../errors';
import type { DeviceMetrics } from '../metrics';
import { foldHeatingBatch, planRow, type BatchChange, type PlannedEvent, type RowPlan } from './heating-plan';

const fromMonolith = { origin: 'monolith' as const };

/** PostgreSQL SQLSTATEs of a transaction that lost a race with another one: applied again, never dead-lettered. */
const CONFLICT_STATES = new Set(['40001', '40P01', '23505']);

const eventOf = (e: PlannedEvent): DeviceEvent => {
  switch (e.type) {
    case 'registered':
      return deviceRegistered(e.device, fromMonolith);
    case 'deleted':
      return deviceDeleted(e.device, fromMonolith);
    case 'settings-changed':
      return deviceSettingsChanged(e.device, e.previous, e.changed, fromMonolith);
  }
};

/** What a set-based apply did. */
export interface BatchApplied {
  plans: RowPlan[];
  /** SQL statements run (besides BEGIN, the applied position and COMMIT) */
  statements: number;
}

/**
 * Applies a batch of `heating_systems` changes (no truncate) in `tx`, set-based: the devices locked in one SELECT,
 * their write-backs in flight read in one more, every heating system's changes folded in memory
 * ({@link planRow}), then one multi-row upsert of the final rows, one multi-row outbox insert (with the relay's
 * notification) and one update of the echoed write-backs: at most 5 statements, whatever the batch size. A
 * concurrent writer (serialization failure, deadlock, a row inserted or moved meanwhile) is a retriable
 * DEVICE_ERR_SYNC_CONFLICT: the caller rolls back and applies the changes one by one.
 */
export async function applyHeatingBatch(
  tx: Queryable,
  changes: readonly BatchChange[],
  opts: { newId?: () => string; now?: Date } = {},
): Promise<BatchApplied> {
  try {
    return await applyFolded(tx, changes, opts);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && CONFLICT_STATES.has(code)) {
      throw deviceError('DEVICE_ERR_SYNC_CONFLICT', `set-based apply lost a race (SQLSTATE ${code})`, { cause: err });
    }
    throw err;
  }
}

async function applyFolded(
  tx: Queryable,
  changes: readonly BatchChange[],
  opts: { newId?: () => string; now?: Date },
): Promise<BatchApplied> {
  const folded = foldHeatingBatch(changes);
  const stored = new Map(
    (await devicesRepository.lockByLegacyIds(tx, folded.legacyIds)).map((d) => [String(d.legacyId), d]),
  );
  const inFlight = await writeBackRepository.inFlightOf(tx, folded.legacyIds);
  let statements = 2;
  const now = opts.now ?? new Date();
  const plans = folded.legacyIds.map((legacyId) =>
    planRow(legacyId, folded.changes.get(legacyId) ?? [], {
      stored: stored.get(String(legacyId)),
      inFlight: inFlight.filter((w) => w.legacyId === legacyId),
      newId: opts.newId ?? randomUUID,
      now,
    }),
  );
  const writes = plans.flatMap((p) => (p.write ? [p.write] : []));
  if (writes.length > 0) {
    statements++;
    const written = await devicesRepository.writeLegacy(tx, writes);
    if (written !== writes.length) {
      throw deviceError('DEVICE_ERR_SYNC_CONFLICT', `${writes.length - written} device rows changed meanwhile`);
    }
  }
  const events = plans.flatMap((p) => p.events.map(eventOf));
  if (events.length > 0) {
    statements++;
    await outboxRepository.addAll(tx, events);
  }
  const echoes = plans.flatMap((p) => p.echoes);
  if (echoes.length > 0) {
    statements++;
    await writeBackRepository.markEchoedAll(tx, echoes);
  }
  return { plans, statements };
}

/** Counts a committed batch like the per-change path counts its changes, and logs what it held back or ignored. */
export function reportBatch(
  applied: BatchApplied,
  deps: { metrics: DeviceMetrics; logger: Pick<Logger, 'info' | 'debug'> },
): void {
  for (const plan of applied.plans) {
    for (const { op, result } of plan.results) deps.metrics.cdcEvents.inc({ op, result });
    const legacyId = String(plan.legacyId);
    for (const reason of plan.ignored) deps.logger.debug({ event: 'cdc_event_ignored', legacyId, reason });
    for (const fields of plan.heldBack) {
      deps.logger.info(
        { event: 'cdc_settings_held_back', legacyId, fields },
        'monolith value not applied: a local change of the same setting is on its way to the monolith',
      );
    }
  }
}
