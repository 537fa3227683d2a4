import type { Pool } from 'pg';

/** Replication slot health, with the alarms raised against the thresholds. */
export interface SlotReport {
  name: string;
  present: boolean;
  active: boolean;
  /** `reserved`, `extended`, `unreserved` or `lost` (lost: the slot must be recreated and re-snapshotted) */
  walStatus: string | null;
  restartLsn: string | null;
  confirmedFlushLsn: string | null;
  /** WAL the server keeps for this slot: `pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)` */
  retainedWalBytes: number | null;
  /** how far the consumer's confirmed position trails the current WAL: `... confirmed_flush_lsn` */
  flushLagBytes: number | null;
  alarms: string[];
}

/** Alarm thresholds for slots. */
export interface SlotThresholds {
  walRetainedAlarmBytes: number;
}

/** A row of {@link SLOT_SQL}. */
export interface SlotRow {
  slot_name: string;
  active: boolean;
  wal_status: string | null;
  restart_lsn: string | null;
  confirmed_flush_lsn: string | null;
  retained_wal_bytes: string | null;
  flush_lag_bytes: string | null;
}

export const SLOT_SQL = `SELECT slot_name, active, wal_status, restart_lsn::text, confirmed_flush_lsn::text,
  pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS retained_wal_bytes,
  pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS flush_lag_bytes
FROM pg_replication_slots WHERE slot_name = ANY($1::text[])`;

/** Pure: the report of each expected slot from the rows found, with its alarms. */
export function judgeSlots(expected: readonly string[], rows: readonly SlotRow[], t: SlotThresholds): SlotReport[] {
  return expected.map((name) => {
    const row = rows.find((r) => r.slot_name === name);
    if (!row) {
      return {
        name,
        present: false,
        active: false,
        walStatus: null,
        restartLsn: null,
        confirmedFlushLsn: null,
        retainedWalBytes: null,
        flushLagBytes: null,
        alarms: ['slot missing'],
      };
    }
    const retained = row.retained_wal_bytes === null ? null : Number(row.retained_wal_bytes);
    const alarms: string[] = [];
    if (!row.active) alarms.push('slot inactive (no connector streaming from it)');
    if (row.wal_status === 'lost') alarms.push('wal_status lost: recreate the slot and re-snapshot');
    if (row.wal_status === 'unreserved') alarms.push('wal_status unreserved: WAL about to be removed');
    if (retained !== null && retained > t.walRetainedAlarmBytes) {
      alarms.push(`retained WAL ${retained} bytes over ${t.walRetainedAlarmBytes}`);
    }
    return {
      name,
      present: true,
      active: row.active,
      walStatus: row.wal_status,
      restartLsn: row.restart_lsn,
      confirmedFlushLsn: row.confirmed_flush_lsn,
      retainedWalBytes: retained,
      flushLagBytes: row.flush_lag_bytes === null ? null : Number(row.flush_lag_bytes),
      alarms,
    };
  });
}

/** Reads the slots from `pg_replication_slots`. */
export async function readSlots(pool: Pool, expected: readonly string[], t: SlotThresholds): Promise<SlotReport[]> {
  const { rows } = await pool.query<SlotRow>(SLOT_SQL, [expected]);
  return judgeSlots(expected, rows, t);
}
