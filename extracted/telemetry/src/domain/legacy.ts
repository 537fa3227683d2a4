import type { ChangeEventOf, Lsn, monolithTables } from '@warmhouse/cdc';
import type { Reading } from './reading';

/** Change events of the monolith tables, typed by @warmhouse/cdc's specs. */
export type MonolithChange = ChangeEventOf<typeof monolithTables>;

export type LegacyKind = 'heating' | 'sensor';

/** The telemetry device id of a monolith row: `legacy-heating-<id>` or `legacy-sensor-<id>`. */
export function legacyDeviceId(kind: LegacyKind, legacyId: number | bigint | string): string {
  return `legacy-${kind}-${legacyId}`;
}

/** The monolith only measures temperatures, in degrees Celsius. */
export const LEGACY_METRIC = 'temperature';
export const LEGACY_UNIT = 'Cel';

/** What one change event of the monolith means for telemetry. */
export interface LegacyEffect {
  /** readings to append to the command log */
  readings: Reading[];
  /** the legacy device row to upsert (exists or deleted), or every device of a kind for a truncate */
  device?: { kind: LegacyKind; legacyId: number; deleted: boolean } | { kind: LegacyKind; truncated: true };
  /** position to store with the device row (see @warmhouse/cdc positionOf) */
  position: Lsn;
}

const kindOf = (table: string): LegacyKind | undefined =>
  table === 'public.heating_systems' ? 'heating' : table === 'public.temperature_sensors' ? 'sensor' : undefined;

/**
 * Turns a change of `heating_systems` or `temperature_sensors` into readings:
 * - a heating system's `current_temperature` becomes a reading when the row is created or read by the snapshot,
 *   and on an update only when that column changed (updates of `is_on`/`target_temperature` are not
 *   measurements); measured at the source commit time (`source.ts_ms`): the table has no time column;
 * - a sensor row is a measurement whenever `current_temperature` or `last_updated` changed, measured at
 *   `last_updated` (the hardware's own time; the monolith writes UTC).
 * The idempotency key `lsn-<source.lsn>` makes a redelivered change a duplicate even if its time were to differ.
 */
export function legacyEffect(event: MonolithChange, position: Lsn, houseId: string): LegacyEffect {
  const kind = kindOf(event.table);
  if (!kind) return { readings: [], position };
  if (event.op === 't') return { readings: [], device: { kind, truncated: true }, position };
  if (event.op === 'd') {
    const id = event.before?.id ?? (event.key as { id?: number } | null)?.id;
    return id === undefined
      ? { readings: [], position }
      : { readings: [], device: { kind, legacyId: id, deleted: true }, position };
  }
  if (event.table === 'public.cdc_heartbeat' || !event.after) return { readings: [], position };

  const device = { kind, legacyId: event.after.id, deleted: false };
  const reading = (value: number, measuredAt: Date): Reading => ({
    deviceId: legacyDeviceId(kind, event.after!.id),
    metric: LEGACY_METRIC,
    value,
    unit: LEGACY_UNIT,
    measuredAt,
    idempotencyKey: `lsn-${event.lsn}`,
    houseId,
    source: 'cdc',
  });

  if (event.table === 'public.heating_systems') {
    const { after, before } = event;
    const changed = event.op !== 'u' || !before || !Object.is(before.current_temperature, after.current_temperature);
    return {
      readings: changed ? [reading(after.current_temperature, new Date(event.sourceTsMs))] : [],
      device,
      position,
    };
  }
  const { after, before } = event;
  const changed =
    event.op !== 'u' ||
    !before ||
    !Object.is(before.current_temperature, after.current_temperature) ||
    before.last_updated.getTime() !== after.last_updated.getTime();
  return { readings: changed ? [reading(after.current_temperature, after.last_updated)] : [], device, position };
}
