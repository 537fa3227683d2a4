import { formatLsn, parseLsn } from '@warmhouse/cdc';
import type { Device, SettingField, Settings } from '../domain/device';
import { projectHeatingChange, type HeatingChange, type InFlightWriteBack } from './heating-projection';

/** One change of a fetched batch, with the heating system it is about. */
export interface BatchChange extends HeatingChange {
  legacyId: bigint;
}

/** A batch grouped by heating system: each one's changes in their order (the order of one Kafka partition). */
export interface FoldedBatch {
  /** legacy ids in ascending order (rows are locked in this order: two transactions never wait on each other) */
  legacyIds: bigint[];
  changes: Map<bigint, BatchChange[]>;
}

/** Groups a batch's changes per heating system, keeping each one's order. Pure. A truncate has no row: see caller. */
export function foldHeatingBatch(batch: readonly BatchChange[]): FoldedBatch {
  const changes = new Map<bigint, BatchChange[]>();
  for (const c of batch) {
    const list = changes.get(c.legacyId);
    if (list) list.push(c);
    else changes.set(c.legacyId, [c]);
  }
  const legacyIds = [...changes.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { legacyIds, changes };
}

/** What one change did, as the per-change path counts it (metric `device_management_cdc_events_total`). */
export type ChangeResult = 'created' | 'deleted' | 'updated' | 'unchanged' | 'echo' | 'stale' | 'ignored';

/** A domain event to record, with the device as it was right after the change (its version in particular). */
export type PlannedEvent =
  | { type: 'registered'; device: Device }
  | { type: 'deleted'; device: Device }
  | { type: 'settings-changed'; device: Device; previous: Settings; changed: SettingField[] };

/** How `deleted_at` ends: set by a delete, cleared by a restore, or as it was. */
export type DeletedAtChange = 'set' | 'clear' | 'keep';

/** The row to write for one heating system: its final state after all its changes in the batch. */
export interface RowWrite {
  insert: boolean;
  device: Device;
  deletedAt: DeletedAtChange;
  /** a change bumped the version (settings, existence): updated_at moves */
  touched: boolean;
}

/** Everything one heating system's changes do, in one transaction. */
export interface RowPlan {
  legacyId: bigint;
  /** undefined when every change was stale or ignored */
  write?: RowWrite;
  events: PlannedEvent[];
  /** write-backs whose echo came back, with the position of the change that echoed them */
  echoes: Array<{ eventIds: string[]; position: string }>;
  results: Array<{ op: HeatingChange['op']; result: ChangeResult }>;
  /** settings held back per change (logged like the per-change path) */
  heldBack: SettingField[][];
  ignored: string[];
}

/** Inputs of {@link planRow} that do not come from the batch. */
export interface PlanContext {
  /** the stored device, read under a row lock */
  stored: Device | undefined;
  /** its write-backs in flight */
  inFlight: readonly InFlightWriteBack[];
  /** id of a device created by the batch */
  newId: () => string;
  now: Date;
}

const storedOf = (d: Device) => ({
  settings: d.settings,
  currentTemperature: d.currentTemperature,
  position: d.cdcPosition === null ? null : parseLsn(d.cdcPosition),
  deleted: d.status === 'deleted',
});

function created(legacyId: bigint, ctx: PlanContext, c: { settings: Settings; currentTemperature: number }): Device {
  return {
    id: ctx.newId(),
    seq: '',
    type: 'heating',
    name: `Heating system ${legacyId}`,
    houseId: null,
    ownerId: null,
    status: 'active',
    settings: c.settings,
    currentTemperature: c.currentTemperature,
    origin: 'monolith',
    legacyId,
    version: 1,
    cdcPosition: null,
    cdcSyncedAt: ctx.now,
    createdAt: ctx.now,
    updatedAt: ctx.now,
    deletedAt: null,
    failureReason: null,
  };
}

/**
 * Applies one heating system's changes of a batch, in order, to its stored device in memory: each change decides
 * exactly as on the per-change path ({@link projectHeatingChange}: stale positions, echoes of write-backs, settings
 * held back while a local change is in flight, deletes and restores), with the device and the write-backs in flight
 * as the changes before it left them. The result is the final row (last change wins), every domain event the
 * changes cause, in order, and the echoes to mark. Pure.
 */
export function planRow(legacyId: bigint, changes: readonly HeatingChange[], ctx: PlanContext): RowPlan {
  const plan: RowPlan = { legacyId, events: [], echoes: [], results: [], heldBack: [], ignored: [] };
  let device = ctx.stored;
  let inFlight = ctx.inFlight;
  let write: RowWrite | undefined;
  for (const change of changes) {
    const decision = projectHeatingChange(change, device && storedOf(device), inFlight);
    const position = formatLsn(decision.position);
    const result = ((): ChangeResult => {
      switch (decision.kind) {
        case 'stale':
          return 'stale';
        case 'ignore':
          plan.ignored.push(decision.reason);
          return 'ignored';
        case 'create': {
          device = { ...created(legacyId, ctx, decision), cdcPosition: position };
          write = { insert: true, device, deletedAt: 'keep', touched: true };
          plan.events.push({ type: 'registered', device });
          return 'created';
        }
        case 'delete': {
          const d = device as Device;
          device = { ...d, status: 'deleted', deletedAt: ctx.now, version: d.version + 1, cdcPosition: position };
          write = { insert: write?.insert ?? false, device, deletedAt: 'set', touched: true };
          plan.events.push({ type: 'deleted', device });
          return 'deleted';
        }
        case 'update': {
          const d = device as Device;
          const bump = decision.restore || decision.changed.length > 0;
          device = {
            ...d,
            settings: decision.settings,
            currentTemperature: decision.currentTemperature,
            cdcPosition: position,
            status: decision.restore ? 'active' : d.status,
            deletedAt: decision.restore ? null : d.deletedAt,
            version: d.version + (bump ? 1 : 0),
          };
          write = {
            insert: write?.insert ?? false,
            device,
            deletedAt: decision.restore ? 'clear' : (write?.deletedAt ?? 'keep'),
            touched: bump || (write?.touched ?? false),
          };
          if (decision.echoes.length > 0) {
            plan.echoes.push({ eventIds: decision.echoes, position });
            const echoed = new Set(decision.echoes);
            inFlight = inFlight.filter((w) => !echoed.has(w.eventId));
          }
          if (decision.restore) plan.events.push({ type: 'registered', device });
          else if (decision.changed.length > 0) {
            plan.events.push({ type: 'settings-changed', device, previous: d.settings, changed: decision.changed });
          }
          if (decision.heldBack.length > 0) plan.heldBack.push(decision.heldBack);
          if (decision.echoes.length > 0) return 'echo';
          return bump ? 'updated' : 'unchanged';
        }
      }
    })();
    plan.results.push({ op: change.op, result });
  }
  return write ? { ...plan, write } : plan;
}
