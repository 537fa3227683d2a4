import type { Pool, PoolClient } from 'pg';
import type { IngestProvisioning } from './provisioning';

type Db = Pool | PoolClient;

export interface ProvisionedDevice {
  deviceId: string;
  deviceType: string;
  metrics: string[];
  retentionDays: number;
  status: 'provisioned' | 'deprovisioned';
  sagaId: string;
  watchFirstReading: boolean;
  firstReadingAt: Date | null;
}

/** SQL of the `provisioning` schema. */
export const provisioningRepository = {
  /** The reply stored for a (saga, step) already handled, or undefined when it is new. Locks nothing. */
  async handled(db: Db, sagaId: string, step: string): Promise<{ reply: object | null } | undefined> {
    const { rows } = await db.query<{ reply: object | null }>(
      `SELECT reply FROM provisioning.handled_commands WHERE saga_id = $1 AND step = $2`,
      [sagaId, step],
    );
    return rows[0];
  },

  /** Records a handled command; false when another delivery recorded it first (its transaction must roll back). */
  async markHandled(db: Db, sagaId: string, step: string, eventId: string, reply: object | null): Promise<boolean> {
    const { rowCount } = await db.query(
      `INSERT INTO provisioning.handled_commands (saga_id, step, event_id, reply) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING`,
      [sagaId, step, eventId, reply === null ? null : JSON.stringify(reply)],
    );
    return rowCount === 1;
  },

  async find(db: Db, deviceId: string, { forUpdate = false } = {}): Promise<ProvisionedDevice | undefined> {
    const { rows } = await db.query<{
      device_id: string;
      device_type: string;
      metrics: string[];
      retention_days: number;
      status: 'provisioned' | 'deprovisioned';
      saga_id: string;
      watch_first_reading: boolean;
      first_reading_at: Date | null;
    }>(`SELECT * FROM provisioning.devices WHERE device_id = $1 ${forUpdate ? 'FOR UPDATE' : ''}`, [deviceId]);
    const r = rows[0];
    return (
      r && {
        deviceId: r.device_id,
        deviceType: r.device_type,
        metrics: r.metrics,
        retentionDays: r.retention_days,
        status: r.status,
        sagaId: r.saga_id,
        watchFirstReading: r.watch_first_reading,
        firstReadingAt: r.first_reading_at,
      }
    );
  },

  /**
   * Status, metrics and retention of those of `deviceIds` the saga provisioned (deprovisioned ones included), in one
   * primary-key lookup: ingest calls it once per request with the distinct device ids of the batch.
   */
  async ingestProvisioning(db: Db, deviceIds: readonly string[]): Promise<Map<string, IngestProvisioning>> {
    const { rows } = await db.query<{
      device_id: string;
      status: IngestProvisioning['status'];
      metrics: string[];
      retention_days: number;
    }>(
      `SELECT device_id, status, metrics, retention_days FROM provisioning.devices WHERE device_id = ANY($1::text[])`,
      [deviceIds],
    );
    return new Map(
      rows.map((r) => [r.device_id, { status: r.status, metrics: r.metrics, retentionDays: r.retention_days }]),
    );
  },

  async provision(
    db: Db,
    d: {
      deviceId: string;
      deviceType: string;
      metrics: string[];
      retentionDays: number;
      sagaId: string;
      /** the device's owner (the connect request's subject); absent or null: nobody, operators only */
      ownerId?: string | null;
    },
  ): Promise<void> {
    await db.query(
      `INSERT INTO provisioning.devices (device_id, device_type, metrics, retention_days, status, saga_id, owner_id)
       VALUES ($1, $2, $3, $4, 'provisioned', $5, $6)`,
      [d.deviceId, d.deviceType, d.metrics, d.retentionDays, d.sagaId, d.ownerId ?? null],
    );
  },

  /** Owners of those of `deviceIds` the saga provisioned (deprovisioned ones included), in one primary-key lookup. */
  async owners(db: Db, deviceIds: readonly string[]): Promise<Map<string, string | null>> {
    const { rows } = await db.query<{ device_id: string; owner_id: string | null }>(
      `SELECT device_id, owner_id FROM provisioning.devices WHERE device_id = ANY($1::text[])`,
      [deviceIds],
    );
    return new Map(rows.map((r) => [r.device_id, r.owner_id]));
  },

  async watchFirstReading(db: Db, deviceId: string): Promise<void> {
    await db.query(`UPDATE provisioning.devices SET watch_first_reading = true WHERE device_id = $1`, [deviceId]);
  },

  async deprovision(db: Db, deviceId: string): Promise<void> {
    await db.query(
      `UPDATE provisioning.devices SET status = 'deprovisioned', deprovisioned_at = now(), watch_first_reading = false
       WHERE device_id = $1`,
      [deviceId],
    );
  },

  /**
   * Watched devices whose first reading through the ingest API is now in the read models (and not reported yet),
   * with its measuredAt. Readings of the CDC feed do not count. Inside a transaction the devices are claimed
   * (`FOR UPDATE SKIP LOCKED`): another replica's scan skips them until this transaction ends, by when they are
   * marked reported.
   */
  async firstReadingsToReport(db: Db, limit: number) {
    const { rows } = await db.query<{ device_id: string; saga_id: string; measured_at: Date }>(
      `SELECT p.device_id, p.saga_id, f.measured_at
       FROM provisioning.devices p
       CROSS JOIN LATERAL (
         SELECT min(r.measured_at) AS measured_at FROM read_model.readings r
         WHERE r.device_id = p.device_id AND r.source = 'api'
       ) f
       WHERE p.status = 'provisioned' AND p.watch_first_reading AND p.first_reading_reported_at IS NULL
         AND f.measured_at IS NOT NULL
       LIMIT $1
       FOR UPDATE OF p SKIP LOCKED`,
      [limit],
    );
    return rows.map((r) => ({ deviceId: r.device_id, sagaId: r.saga_id, measuredAt: r.measured_at }));
  },

  async markFirstReadingReported(db: Db, deviceId: string, measuredAt: Date): Promise<void> {
    await db.query(
      `UPDATE provisioning.devices SET first_reading_at = $2, first_reading_reported_at = now() WHERE device_id = $1`,
      [deviceId, measuredAt],
    );
  },
};
