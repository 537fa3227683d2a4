import type { Pool, PoolClient } from 'pg';
import type { Reading } from '../domain/reading';

/** The schema the live read models are in; a rebuild fills {@link REBUILD_SCHEMA} and swaps it in. */
export const LIVE_SCHEMA = 'read_model';
export const REBUILD_SCHEMA = 'read_model_rebuild';
const SCHEMA_NAME = /^[a-z_][a-z0-9_]*$/;

/** One command-log record as the store sees it: decoded readings (null for a dead-lettered one), offset, timestamp. */
export interface ProjectedRecord {
  offset: string;
  readings: Reading[] | null;
  /** Kafka record timestamp, ms: when the command log accepted it */
  acceptedAtMs: number;
}

/** What applying a chunk did. */
export type ApplyOutcome =
  | { kind: 'applied'; applied: ProjectedRecord[]; inserted: number; nextOffset: string }
  /** the read models are behind the chunk (a rebuild was swapped in, or the database was restored): seek back */
  | { kind: 'gap'; nextOffset: string };

/**
 * Writes the read models. One transaction per chunk: lock the partition's row in projection_offsets, drop records
 * already applied (overlap after a crash or rebalance), insert raw readings (ON CONFLICT DO NOTHING: the duplicate
 * rules), then — from the rows actually inserted only — latest, rollups and device houses, and the new offset. So
 * each record's effect lands exactly once, whatever Kafka redelivers.
 */
export class ProjectionStore {
  private readonly applySql: string;
  private readonly lockSql: string;

  constructor(
    private readonly pool: Pool,
    readonly schema: string = LIVE_SCHEMA,
  ) {
    if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid schema name ${schema}`);
    this.lockSql = `SELECT next_offset FROM ${schema}.projection_offsets WHERE topic = $1 AND partition = $2 FOR UPDATE`;
    this.applySql = applyStatement(schema);
  }

  /**
   * Applies records of one partition, given in offset order. `beforeApply` runs inside the transaction after the
   * overlap is known, with the records that will be applied (the projector dead-letters unreadable ones there,
   * so a record is dead-lettered once per time its offset is applied, not per redelivery).
   */
  async apply(
    topic: string,
    partition: number,
    records: readonly ProjectedRecord[],
    beforeApply?: (records: ProjectedRecord[]) => Promise<void>,
  ): Promise<ApplyOutcome> {
    const first = records[0];
    const last = records[records.length - 1];
    if (!first || !last) throw new Error('apply needs at least one record');
    const client = await this.pool.connect();
    let release: boolean | Error = true;
    try {
      // Asynchronous commit: a database crash may lose the last few hundred ms of commits, but the offsets are lost
      // with the rows they describe (one transaction, one WAL record stream), and the projector then finds the
      // stored offset behind what Kafka delivers and seeks back (the 'gap' case). No fsync wait per chunk.
      await client.query('BEGIN; SET LOCAL synchronous_commit = off');
      const stored = await client.query<{ next_offset: string }>(this.lockSql, [topic, partition]);
      const next = stored.rows[0] ? BigInt(stored.rows[0].next_offset) : undefined;
      if (next !== undefined && next < BigInt(first.offset)) {
        await client.query('ROLLBACK');
        return { kind: 'gap', nextOffset: next.toString() };
      }
      const fresh = next === undefined ? [...records] : records.filter((r) => BigInt(r.offset) >= next);
      const nextOffset = (BigInt(last.offset) + 1n).toString();
      if (fresh.length === 0) {
        await client.query('ROLLBACK');
        return { kind: 'applied', applied: [], inserted: 0, nextOffset: next!.toString() };
      }
      await beforeApply?.(fresh);
      const result = await client.query<{ inserted: string }>(this.applySql, [
        rowsJson(fresh),
        partition,
        topic,
        nextOffset,
      ]);
      await client.query('COMMIT');
      return { kind: 'applied', applied: fresh, inserted: Number(result.rows[0]?.inserted ?? 0), nextOffset };
    } catch (err) {
      release = err instanceof Error ? err : new Error(String(err));
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      // a client whose transaction failed is discarded, not reused: its connection state is unknown
      client.release(release === true ? undefined : release);
    }
  }

  /** Stored next offset per partition of a topic. */
  async offsets(topic: string, client: Pool | PoolClient = this.pool): Promise<Map<number, bigint>> {
    const { rows } = await client.query<{ partition: number; next_offset: string }>(
      `SELECT partition, next_offset FROM ${this.schema}.projection_offsets WHERE topic = $1`,
      [topic],
    );
    return new Map(rows.map((r) => [r.partition, BigInt(r.next_offset)]));
  }
}

/**
 * The readings of a chunk as one JSON array (one parameter: building eleven PostgreSQL arrays element by element
 * cost more than the database work). `o` is the command-log order; `n` the value, as JSON's shortest decimal form.
 */
function rowsJson(records: readonly ProjectedRecord[]): string {
  const rows: unknown[] = [];
  for (const r of records) {
    if (r.readings === null) continue;
    const acceptedAt = new Date(r.acceptedAtMs).toISOString();
    r.readings.forEach((x, i) =>
      rows.push({
        o: rows.length,
        d: x.deviceId,
        m: x.metric,
        t: x.measuredAt.toISOString(),
        n: x.value,
        u: x.unit,
        k: x.idempotencyKey ?? null,
        s: x.source,
        h: x.houseId ?? null,
        a: acceptedAt,
        lo: r.offset,
        li: i,
      }),
    );
  }
  return JSON.stringify(rows);
}

/**
 * The whole projection of a chunk as one statement (one round trip). Values arrive as JSON numbers read as numeric,
 * so rollup sums are exact (float8 → numeric would keep only 15 digits); float8 columns get the same value back.
 * Rows are inserted in command-log order (`ord`), so of two duplicates the earlier record wins, as in a rebuild.
 * Upserts visit keys in sorted order, which keeps concurrent transactions (during a rebalance) from deadlocking.
 */
function applyStatement(s: string): string {
  return `
WITH input AS (
  SELECT o AS ord, d AS device_id, m AS metric, t AS measured_at, n AS num, u AS unit, k AS idempotency_key,
         s AS source, h AS house_id, a AS accepted_at, lo AS log_offset, li AS log_index
  FROM json_to_recordset($1::json) AS x(o int, d text, m text, t timestamptz, n numeric, u text, k text, s text,
                                       h text, a timestamptz, lo bigint, li int)
),
ins AS (
  INSERT INTO ${s}.readings AS r (device_id, metric, measured_at, value, unit, idempotency_key, source, accepted_at,
                                  log_partition, log_offset, log_index)
  SELECT device_id, metric, measured_at, num::float8, unit, idempotency_key, source, accepted_at, $2, log_offset,
         log_index
  FROM input ORDER BY ord
  ON CONFLICT DO NOTHING
  RETURNING r.log_offset, r.log_index
),
fresh AS (
  SELECT i.* FROM input i JOIN ins USING (log_offset, log_index)
),
newest AS (
  SELECT DISTINCT ON (device_id, metric) device_id, metric, num, unit, measured_at, source, accepted_at
  FROM fresh ORDER BY device_id, metric, measured_at DESC
),
up_latest AS (
  INSERT INTO ${s}.latest AS l (device_id, metric, value, unit, measured_at, source, accepted_at)
  SELECT device_id, metric, num::float8, unit, measured_at, source, accepted_at FROM newest ORDER BY device_id, metric
  ON CONFLICT (device_id, metric) DO UPDATE
    SET value = EXCLUDED.value, unit = EXCLUDED.unit, measured_at = EXCLUDED.measured_at, source = EXCLUDED.source,
        accepted_at = EXCLUDED.accepted_at
    WHERE l.measured_at < EXCLUDED.measured_at
  RETURNING 1
),
houses AS (
  SELECT DISTINCT ON (device_id) device_id, house_id, measured_at
  FROM fresh WHERE house_id IS NOT NULL ORDER BY device_id, measured_at DESC, house_id DESC
),
up_houses AS (
  INSERT INTO ${s}.device_houses AS h (device_id, house_id, as_of)
  SELECT device_id, house_id, measured_at FROM houses ORDER BY device_id
  ON CONFLICT (device_id) DO UPDATE SET house_id = EXCLUDED.house_id, as_of = EXCLUDED.as_of
    WHERE (h.as_of, h.house_id) < (EXCLUDED.as_of, EXCLUDED.house_id)
  RETURNING 1
),
up_minute AS (
${rollupUpsert(s, 'minute')}
),
up_hour AS (
${rollupUpsert(s, 'hour')}
),
up_offset AS (
  INSERT INTO ${s}.projection_offsets (topic, partition, next_offset, updated_at) VALUES ($3, $2, $4, now())
  ON CONFLICT (topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins) AS inserted,
       (SELECT count(*) FROM up_latest) + (SELECT count(*) FROM up_houses) + (SELECT count(*) FROM up_minute)
       + (SELECT count(*) FROM up_hour) + (SELECT count(*) FROM up_offset) AS touched`;
}

/** The upsert of one rollup table (`rollups_minute`, `rollups_hour`): fresh readings folded into their buckets. */
function rollupUpsert(s: string, unit: 'minute' | 'hour'): string {
  return `  INSERT INTO ${s}.rollups_${unit} AS m (device_id, metric, bucket, min, max, sum, count)
  SELECT device_id, metric, date_trunc('${unit}', measured_at, 'UTC'), min(num)::float8, max(num)::float8, sum(num), count(*)
  FROM fresh GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (device_id, metric, bucket) DO UPDATE
    SET min = LEAST(m.min, EXCLUDED.min), max = GREATEST(m.max, EXCLUDED.max), sum = m.sum + EXCLUDED.sum,
        count = m.count + EXCLUDED.count
  RETURNING 1`;
}
