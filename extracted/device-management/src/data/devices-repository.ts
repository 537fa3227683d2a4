import type { Device, DeviceOrigin, DeviceStatus, DeviceType, Settings } from '../domain/device';
import type { Queryable } from '@warmhouse/shared';

interface DeviceRow {
  id: string;
  seq: string;
  type: DeviceType;
  name: string;
  house_id: string | null;
  owner_id: string | null;
  status: DeviceStatus;
  is_on: boolean | null;
  target_temperature: number | null;
  current_temperature: number | null;
  origin: DeviceOrigin;
  legacy_id: string | null;
  version: number;
  cdc_position: string | null;
  cdc_synced_at: Date | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
  failure_reason: string | null;
}

const COLUMNS = `id, seq, type, name, house_id, owner_id, status, is_on, target_temperature, current_temperature, origin,
  legacy_id, version, cdc_position::text AS cdc_position, cdc_synced_at, created_at, updated_at, deleted_at,
  failure_reason`;

export function toDevice(r: DeviceRow): Device {
  return {
    id: r.id,
    seq: r.seq,
    type: r.type,
    name: r.name,
    houseId: r.house_id,
    ownerId: r.owner_id,
    status: r.status,
    settings: { on: r.is_on, targetTemperature: r.target_temperature },
    currentTemperature: r.current_temperature,
    origin: r.origin,
    legacyId: r.legacy_id === null ? null : BigInt(r.legacy_id),
    version: r.version,
    cdcPosition: r.cdc_position,
    cdcSyncedAt: r.cdc_synced_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    deletedAt: r.deleted_at,
    failureReason: r.failure_reason,
  };
}

export interface ListFilter {
  houseId?: string;
  /** only this owner's devices (ownership); undefined: everybody's */
  ownerId?: string;
  type?: DeviceType;
  /** default: every status but `deleted` */
  status?: DeviceStatus;
  /** only devices registered after this one (cursor) */
  afterSeq?: string;
  limit: number;
}

/** The final state of a legacy device after a batch of changes (see `writeLegacy`). */
export interface LegacyWrite {
  device: Device;
  /** `set`: deleted now; otherwise as the status says (cleared when not deleted, kept when still deleted) */
  deletedAt: 'set' | 'clear' | 'keep';
}

export interface NewDevice {
  type: DeviceType;
  name: string;
  houseId: string | null;
  ownerId: string | null;
  settings: Settings;
  /** default active; the connect saga registers its device as pending */
  status?: 'active' | 'pending';
}

/** SQL for the `devices` table. Every method takes the connection (pool or transaction client) to run on. */
export const devicesRepository = {
  async findById(db: Queryable, id: string, { forUpdate = false } = {}): Promise<Device | undefined> {
    const { rows } = await db.query<DeviceRow>(
      `SELECT ${COLUMNS} FROM devices WHERE id = $1 ${forUpdate ? 'FOR UPDATE' : ''}`,
      [id],
    );
    return rows[0] && toDevice(rows[0]);
  },

  async findByLegacyId(db: Queryable, legacyId: bigint, { forUpdate = false } = {}): Promise<Device | undefined> {
    const { rows } = await db.query<DeviceRow>(
      `SELECT ${COLUMNS} FROM devices WHERE legacy_id = $1 ${forUpdate ? 'FOR UPDATE' : ''}`,
      [legacyId.toString()],
    );
    return rows[0] && toDevice(rows[0]);
  },

  /** One page plus one row more, so the caller knows whether there is a next page. */
  async list(db: Queryable, f: ListFilter): Promise<Device[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      values.push(value);
      where.push(sql.replace('?', `$${values.length}`));
    };
    if (f.houseId !== undefined) add('house_id = ?', f.houseId);
    if (f.ownerId !== undefined) add('owner_id = ?', f.ownerId);
    if (f.type !== undefined) add('type = ?', f.type);
    if (f.status !== undefined) add('status = ?', f.status);
    else where.push(`status <> 'deleted'`);
    if (f.afterSeq !== undefined) add('seq > ?', f.afterSeq);
    values.push(f.limit + 1);
    const { rows } = await db.query<DeviceRow>(
      `SELECT ${COLUMNS} FROM devices WHERE ${where.join(' AND ')} ORDER BY seq LIMIT $${values.length}`,
      values,
    );
    return rows.map(toDevice);
  },

  async insert(db: Queryable, d: NewDevice): Promise<Device> {
    const { rows } = await db.query<DeviceRow>(
      `INSERT INTO devices (type, name, house_id, owner_id, is_on, target_temperature, origin, status)
       VALUES ($1, $2, $3, $4, $5, $6, 'device-management', $7) RETURNING ${COLUMNS}`,
      [d.type, d.name, d.houseId, d.ownerId, d.settings.on, d.settings.targetTemperature, d.status ?? 'active'],
    );
    return toDevice(rows[0] as DeviceRow);
  },

  async updateSettings(db: Queryable, id: string, s: Settings): Promise<Device> {
    const { rows } = await db.query<DeviceRow>(
      `UPDATE devices SET is_on = $2, target_temperature = $3, version = version + 1, updated_at = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, s.on, s.targetTemperature],
    );
    return toDevice(rows[0] as DeviceRow);
  },

  /** The connect saga's outcome for its pending device: active, or failed with the reason. The device after it. */
  async setConnectOutcome(
    db: Queryable,
    id: string,
    status: 'active' | 'failed',
    reason: string | null,
  ): Promise<Device | undefined> {
    const { rows } = await db.query<DeviceRow>(
      `UPDATE devices SET status = $2, failure_reason = $3, version = version + 1, updated_at = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, status, reason],
    );
    return rows[0] && toDevice(rows[0]);
  },

  async softDelete(db: Queryable, id: string): Promise<Device> {
    const { rows } = await db.query<DeviceRow>(
      `UPDATE devices SET status = 'deleted', deleted_at = now(), version = version + 1, updated_at = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id],
    );
    return toDevice(rows[0] as DeviceRow);
  },

  /** A heating system seen for the first time through CDC. */
  async insertLegacy(
    db: Queryable,
    legacyId: bigint,
    settings: Settings,
    currentTemperature: number,
    position: string,
  ): Promise<Device> {
    const { rows } = await db.query<DeviceRow>(
      `INSERT INTO devices (type, name, is_on, target_temperature, current_temperature, origin, legacy_id, cdc_position, cdc_synced_at)
       VALUES ('heating', $1, $2, $3, $4, 'monolith', $5, $6::pg_lsn, now()) RETURNING ${COLUMNS}`,
      [
        `Heating system ${legacyId}`,
        settings.on,
        settings.targetTemperature,
        currentTemperature,
        legacyId.toString(),
        position,
      ],
    );
    return toDevice(rows[0] as DeviceRow);
  },

  /**
   * Writes what a change event carries. `bumpVersion` when settings or existence change (a domain event follows);
   * a hardware reading alone only moves the position and the current temperature.
   */
  async applyLegacyChange(
    db: Queryable,
    id: string,
    change: {
      settings: Settings;
      currentTemperature: number;
      position: string;
      restore: boolean;
      bumpVersion: boolean;
    },
  ): Promise<Device> {
    const { rows } = await db.query<DeviceRow>(
      `UPDATE devices SET is_on = $2, target_temperature = $3, current_temperature = $4, cdc_position = $5::pg_lsn,
         cdc_synced_at = now(),
         status = CASE WHEN $6 THEN 'active' ELSE status END,
         deleted_at = CASE WHEN $6 THEN NULL ELSE deleted_at END,
         version = version + CASE WHEN $7 THEN 1 ELSE 0 END,
         updated_at = CASE WHEN $7 THEN now() ELSE updated_at END
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [
        id,
        change.settings.on,
        change.settings.targetTemperature,
        change.currentTemperature,
        change.position,
        change.restore,
        change.bumpVersion,
      ],
    );
    return toDevice(rows[0] as DeviceRow);
  },

  async applyLegacyDelete(db: Queryable, id: string, position: string): Promise<Device> {
    const { rows } = await db.query<DeviceRow>(
      `UPDATE devices SET status = 'deleted', deleted_at = now(), version = version + 1, updated_at = now(),
         cdc_position = $2::pg_lsn, cdc_synced_at = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, position],
    );
    return toDevice(rows[0] as DeviceRow);
  },

  /** Moves only the position (an event that changed nothing here, e.g. the echo of a write-back). */
  async touchPosition(db: Queryable, id: string, position: string): Promise<void> {
    await db.query(`UPDATE devices SET cdc_position = $2::pg_lsn, cdc_synced_at = now() WHERE id = $1`, [id, position]);
  },

  /** The legacy devices of these heating systems, locked in legacy-id order (two batches never wait on each other). */
  async lockByLegacyIds(db: Queryable, legacyIds: readonly bigint[]): Promise<Device[]> {
    const { rows } = await db.query<DeviceRow>(
      `SELECT ${COLUMNS} FROM devices WHERE legacy_id = ANY($1::bigint[]) ORDER BY legacy_id FOR UPDATE`,
      [legacyIds.map(String)],
    );
    return rows.map(toDevice);
  },

  /**
   * Writes the final state of several legacy devices in one statement: new ones inserted, known ones updated in
   * their CDC-owned columns only (settings, current temperature, existence, version, position; never name, house or
   * owner). An update is guarded by its id and by a newer position. Returns how many rows were written: fewer than
   * `rows` means another writer got there first (the caller must not commit).
   */
  async writeLegacy(db: Queryable, rows: readonly LegacyWrite[]): Promise<number> {
    if (rows.length === 0) return 0;
    const result = await db.query(
      `INSERT INTO devices AS d (id, type, name, is_on, target_temperature, current_temperature, origin, legacy_id,
         cdc_position, cdc_synced_at, status, deleted_at, version)
       SELECT v.id, 'heating', v.name, v.is_on, v.target_temperature, v.current_temperature, 'monolith', v.legacy_id,
         v.position::pg_lsn, now(), v.status, CASE WHEN v.deleted_at = 'set' THEN now() END, v.version
       FROM unnest($1::uuid[], $2::text[], $3::boolean[], $4::float8[], $5::float8[], $6::bigint[], $7::text[],
         $8::text[], $9::text[], $10::int[])
         AS v(id, name, is_on, target_temperature, current_temperature, legacy_id, position, status, deleted_at, version)
       ON CONFLICT (legacy_id) DO UPDATE SET
         is_on = EXCLUDED.is_on, target_temperature = EXCLUDED.target_temperature,
         current_temperature = EXCLUDED.current_temperature, cdc_position = EXCLUDED.cdc_position, cdc_synced_at = now(),
         status = EXCLUDED.status, version = EXCLUDED.version,
         deleted_at = CASE WHEN EXCLUDED.status <> 'deleted' THEN NULL ELSE coalesce(EXCLUDED.deleted_at, d.deleted_at) END,
         updated_at = CASE WHEN EXCLUDED.version > d.version THEN now() ELSE d.updated_at END
       WHERE d.id = EXCLUDED.id AND (d.cdc_position IS NULL OR d.cdc_position < EXCLUDED.cdc_position)`,
      [
        rows.map((r) => r.device.id),
        rows.map((r) => r.device.name),
        rows.map((r) => r.device.settings.on),
        rows.map((r) => r.device.settings.targetTemperature),
        rows.map((r) => r.device.currentTemperature),
        rows.map((r) => String(r.device.legacyId)),
        rows.map((r) => r.device.cdcPosition),
        rows.map((r) => r.device.status),
        rows.map((r) => r.deletedAt),
        rows.map((r) => r.device.version),
      ],
    );
    return result.rowCount ?? 0;
  },

  /** Live legacy devices whose position is below `position` (a TRUNCATE of heating_systems deletes them). */
  async legacyIdsBelow(db: Queryable, position: string): Promise<string[]> {
    const { rows } = await db.query<{ id: string }>(
      `SELECT id FROM devices WHERE origin = 'monolith' AND status <> 'deleted'
         AND (cdc_position IS NULL OR cdc_position < $1::pg_lsn) ORDER BY seq FOR UPDATE`,
      [position],
    );
    return rows.map((r) => r.id);
  },
};
