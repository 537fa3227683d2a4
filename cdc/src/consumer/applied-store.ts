import type { Queryable } from '@warmhouse/shared';
import type { AppliedPosition } from './applied';

/**
 * Applied positions kept in the consuming service's own database, one row per topic and partition, so that
 * `GET /cdc/applied` answers for the whole service from any replica (each replica consumes only the partitions
 * the group assigned it). A change's row is written in the transaction that applies the change (see
 * `ChangeHandlerContext.applied`), so the position can never be ahead of, or behind, what the database holds.
 *
 * The table (created by each service's migrations):
 *
 * ```sql
 * CREATE TABLE <table> (
 *   topic         text        NOT NULL,
 *   partition     integer     NOT NULL,
 *   next_offset   bigint      NOT NULL,  -- offset after the last change applied
 *   lsn           numeric(20) NOT NULL,  -- source.lsn of that change
 *   source_ts_ms  bigint      NOT NULL,  -- its commit time in the source database
 *   applied_at_ms bigint      NOT NULL,  -- when the service applied it (service clock)
 *   PRIMARY KEY (topic, partition)
 * );
 * ```
 */
export interface AppliedStore {
  /** the table, schema-qualified */
  readonly table: string;
  /** the service's pool (positions recorded outside a handler's transaction, reads) */
  readonly pool: Queryable;
  /**
   * Records one applied change; never moves a partition backwards (a replay after a rebalance or a restart writes
   * nothing). `db` is the transaction that applied the change, or the pool.
   */
  record(db: Queryable, topic: string, position: AppliedPosition): Promise<void>;
  /** next offset to apply per partition of `topics` (what the whole service has applied) */
  nextOffsets(topics: readonly string[]): Promise<PartitionProgress[]>;
  /** per topic, the position the whole service has applied (see {@link reportOf}) */
  applied(): Promise<Record<string, AppliedPosition>>;
}

/** How far the service has applied one partition: the offset after its last applied change. */
export interface PartitionProgress {
  topic: string;
  partition: number;
  next: bigint;
}

/** A row of the applied-positions table. */
export interface AppliedRow {
  topic: string;
  partition: number;
  next_offset: string;
  lsn: string;
  source_ts_ms: string;
  applied_at_ms: string;
}

const TABLE_NAME = /^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$/;

/**
 * Pure: the per-topic report of the stored rows. A topic of several partitions is applied only as far as its least
 * advanced partition, so it reports that partition's position (the lower, safer one).
 */
export function reportOf(rows: readonly AppliedRow[]): Record<string, AppliedPosition> {
  const out: Record<string, AppliedPosition> = {};
  for (const r of rows) {
    const seen = out[r.topic];
    if (seen !== undefined && BigInt(seen.lsn) <= BigInt(r.lsn)) continue;
    out[r.topic] = {
      lsn: r.lsn,
      sourceTsMs: Number(r.source_ts_ms),
      appliedAtMs: Number(r.applied_at_ms),
      partition: r.partition,
      offset: (BigInt(r.next_offset) - 1n).toString(),
    };
  }
  return out;
}

/** The applied-positions store on `table` (e.g. `public.cdc_applied`) of the service's database. */
export function createAppliedStore({ pool, table }: { pool: Queryable; table: string }): AppliedStore {
  if (!TABLE_NAME.test(table)) throw new Error(`invalid table name ${table}`);
  return {
    table,
    pool,
    async record(db, topic, p) {
      await db.query(
        `INSERT INTO ${table} AS a (topic, partition, next_offset, lsn, source_ts_ms, applied_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (topic, partition) DO UPDATE
           SET next_offset = EXCLUDED.next_offset, lsn = EXCLUDED.lsn, source_ts_ms = EXCLUDED.source_ts_ms,
               applied_at_ms = EXCLUDED.applied_at_ms
           WHERE a.next_offset < EXCLUDED.next_offset`,
        [topic, p.partition, (BigInt(p.offset) + 1n).toString(), p.lsn, p.sourceTsMs, p.appliedAtMs],
      );
    },
    async nextOffsets(topics) {
      const { rows } = await pool.query<{ topic: string; partition: number; next_offset: string }>(
        `SELECT topic, partition, next_offset FROM ${table} WHERE topic = ANY($1::text[])`,
        [topics],
      );
      return rows.map((r) => ({ topic: r.topic, partition: r.partition, next: BigInt(r.next_offset) }));
    },
    async applied() {
      const { rows } = await pool.query<AppliedRow>(
        `SELECT topic, partition, next_offset, lsn::text AS lsn, source_ts_ms, applied_at_ms FROM ${table}
         ORDER BY topic, partition`,
      );
      return reportOf(rows);
    },
  };
}
