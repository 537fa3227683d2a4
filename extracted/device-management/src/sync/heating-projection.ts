import { isNewer, positionOf, type ChangeOp, type Lsn } from '@warmhouse/cdc';
import { SETTING_FIELDS, sameValue, type SettingField, type Settings } from '../domain/device';

/** A `heating_systems` row image as the CDC library parses it. */
export interface HeatingImage {
  id: number;
  is_on: boolean;
  target_temperature: number;
  current_temperature: number;
}

/** What device management has stored for the heating system. */
export interface StoredHeating {
  settings: Settings;
  currentTemperature: number | null;
  /** last applied change position, null when never synced */
  position: Lsn | null;
  deleted: boolean;
}

/** A local change on its way to the monolith whose echo has not come back yet. */
export interface InFlightWriteBack {
  eventId: string;
  fields: readonly SettingField[];
  /** low 32 bits of the monolith transaction id that applied it, once the write-back has started */
  monolithTxid: bigint | null;
}

export interface HeatingChange {
  op: ChangeOp;
  after: HeatingImage | null;
  lsn: Lsn;
  /** source.txId (PostgreSQL xid) */
  txId: number | null;
}

export type Projection =
  /** at or below the stored position: a redelivery, nothing to do */
  | { kind: 'stale'; position: Lsn }
  /** a delete of a row never seen (nothing stored) */
  | { kind: 'ignore'; reason: string; position: Lsn }
  | { kind: 'create'; position: Lsn; settings: Settings; currentTemperature: number }
  | {
      kind: 'update';
      position: Lsn;
      settings: Settings;
      currentTemperature: number;
      /** settings whose stored value changes */
      changed: SettingField[];
      /** the device was deleted and the monolith has the row again */
      restore: boolean;
      /** write-backs this event is the echo of (same monolith transaction) */
      echoes: string[];
      /** settings not taken from the event because a local change of them is in flight */
      heldBack: SettingField[];
    }
  | { kind: 'delete'; position: Lsn };

const xid32 = (txId: number | bigint) => BigInt(txId) & 0xffff_ffffn;

const settingsOf = (row: HeatingImage): Settings => ({ on: row.is_on, targetTemperature: row.target_temperature });

/**
 * Decides what one `heating_systems` change event does to the stored device. Pure: the caller reads the stored
 * device and its in-flight write-backs under a row lock and writes what this returns in the same transaction.
 *
 * Rules (see README, "Loop prevention"):
 * - An event at or below the stored position is stale (replays and restarts converge).
 * - `current_temperature` always comes from the monolith (the field hardware writes it there).
 * - A setting with a local change in flight (committed here, its write-back's echo not seen yet) keeps the local
 *   value: the monolith will receive it, so the event's older value must not overwrite it.
 * - An event written by our own write-back (its `txId` is the write-back's) is its echo: it clears that write-back
 *   and, being our own change, is never treated as a new change (no domain event, no write-back: no ping-pong).
 */
export function projectHeatingChange(
  event: HeatingChange,
  stored: StoredHeating | undefined,
  inFlight: readonly InFlightWriteBack[],
): Projection {
  const position = positionOf(event);
  if (stored && !isNewer(position, stored.position)) return { kind: 'stale', position };

  if (event.op === 'd') {
    if (!stored) return { kind: 'ignore', reason: 'delete of a heating system never seen', position };
    if (stored.deleted) return { kind: 'ignore', reason: 'already deleted', position };
    return { kind: 'delete', position };
  }
  if (event.op === 't') return { kind: 'ignore', reason: 'truncate is applied to the whole table', position };

  const after = event.after;
  if (!after) return { kind: 'ignore', reason: `op ${event.op} without an after image`, position };
  const incoming = settingsOf(after);
  if (!stored) return { kind: 'create', position, settings: incoming, currentTemperature: after.current_temperature };

  const echoes =
    event.txId === null
      ? []
      : inFlight
          .filter((w) => w.monolithTxid !== null && w.monolithTxid === xid32(event.txId as number))
          .map((w) => w.eventId);
  const held = new Set(inFlight.flatMap((w) => w.fields));
  const restore = stored.deleted;
  const settings: Settings = { ...stored.settings };
  for (const f of SETTING_FIELDS) {
    if (restore || !held.has(f)) (settings as Record<SettingField, unknown>)[f] = incoming[f];
  }
  const changed = SETTING_FIELDS.filter((f) => !sameValue(settings[f], stored.settings[f]));
  const heldBack = SETTING_FIELDS.filter((f) => held.has(f) && !restore && !sameValue(incoming[f], stored.settings[f]));
  return {
    kind: 'update',
    position,
    settings,
    currentTemperature: after.current_temperature,
    changed,
    restore,
    echoes,
    heldBack,
  };
}
