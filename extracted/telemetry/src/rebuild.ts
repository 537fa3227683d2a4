import { randomUUID } from 'node:crypto';
import { waitFor, withTransaction, type Logger } from '@warmhouse/shared';
import type { Kafka } from 'kafkajs';
import type { Pool, PoolClient } from 'pg';
import { LIVE_SCHEMA, ProjectionStore, REBUILD_SCHEMA } from './data/projection-store';
import { deleteExpiredReadings } from './data/retention';
import { createProjector } from './projector/projector';

/** Rows that differ between the live and the rebuilt read models, per table. */
export interface TableDifference {
  table: string;
  /** rows in live, not in the rebuild */
  onlyLive: number;
  /** rows in the rebuild, not in live */
  onlyRebuilt: number;
  rows: number;
}

export interface RebuildReport {
  topic: string;
  /** per partition, the offset both read models had applied up to when they were compared */
  offsets: Record<string, string>;
  records: number;
  tables: TableDifference[];
  equal: boolean;
  swapped: boolean;
  /** how long the live projector was held (final catch-up, comparison, swap), ms */
  lockedMs: number;
  durationMs: number;
}

export interface RebuildOptions {
  pool: Pool;
  kafka: Kafka;
  topic: string;
  logger: Logger;
  /** swap the rebuilt schema in for the live one (default); false: build and compare only */
  swap?: boolean;
  /** rows per read-model transaction */
  chunkSize?: number;
  /** most records the final catch-up may have to apply while the live projector is held; default 20000 */
  maxLockedCatchUp?: number;
  timeoutMs?: number;
}

/** Columns that say when a row was written, not what it holds: left out of the comparison. */
const VOLATILE_COLUMNS = new Set(['updated_at']);

/**
 * Drops and rebuilds the read models from the command log, side by side with the live ones, and swaps them in.
 *
 * 1. `read_model_rebuild` gets empty copies of every `read_model` table (same constraints and index names).
 * 2. A projector with a throw-away group applies the log from offset 0 into it — the same code as the live one —
 *    but never past the offsets the live read models have applied, so both can be compared record for record.
 * 3. When the rebuild is close, `read_model.projection_offsets` is locked (EXCLUSIVE): the live projector's next
 *    transaction waits at its first statement. The rebuild catches up to the live offsets exactly, the two are
 *    compared (every column but `updated_at`), and the schemas are renamed in the same transaction. The waiting
 *    live transaction then resolves `read_model.*` to the rebuilt tables and carries on from the same offsets.
 *
 * Ingest never stops (Kafka keeps accepting); only projection pauses for the final catch-up. Poison records are
 * not dead-lettered again (the live projector already parked them).
 */
export async function rebuildReadModels(opts: RebuildOptions): Promise<RebuildReport> {
  const started = Date.now();
  const log = opts.logger.child({ module: 'rebuild', topic: opts.topic });
  const swap = opts.swap ?? true;
  const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
  await createShadowSchema(opts.pool);
  const store = new ProjectionStore(opts.pool, REBUILD_SCHEMA);
  const liveStore = new ProjectionStore(opts.pool, LIVE_SCHEMA);

  const limits = new Map<number, bigint>(await liveStore.offsets(opts.topic));
  const projector = createProjector({
    kafka: opts.kafka,
    pool: opts.pool,
    topic: opts.topic,
    groupId: `${opts.topic}.rebuild.${randomUUID()}`,
    commandLog: { deadLetter: async () => undefined },
    logger: opts.logger,
    chunkSize: opts.chunkSize ?? 5000,
    concurrency: 3,
    store,
    limits,
  });
  const total = (m: Map<number, bigint>) => [...m.values()].reduce((a, b) => a + b, 0n);
  const behind = async () => total(limits) - total(await store.offsets(opts.topic));
  const raiseLimits = async (client?: PoolClient) => {
    for (const [p, o] of await liveStore.offsets(opts.topic, client)) limits.set(p, o);
    projector.resume();
  };

  await projector.start();
  let lockedMs = 0;
  try {
    log.info({ event: 'rebuild_started', limits: Object.fromEntries(limits) }, 'rebuilding read models');
    // catch up without holding the live projector until what is left is small
    await waitFor(
      'the rebuild to come close to the live read models',
      async () => {
        await raiseLimits();
        return (await behind()) <= BigInt(opts.maxLockedCatchUp ?? 20_000) ? true : undefined;
      },
      { timeoutMs, intervalMs: 500 },
    );

    const client = await opts.pool.connect();
    const lockedAt = Date.now();
    try {
      await client.query('BEGIN');
      await client.query(`LOCK TABLE ${LIVE_SCHEMA}.projection_offsets IN EXCLUSIVE MODE`);
      await raiseLimits(client);
      await waitFor('the rebuild to reach the live offsets', async () => ((await behind()) === 0n ? true : undefined), {
        timeoutMs,
        intervalMs: 50,
      });
      await projector.stop();
      // the live read models lost what the retention sweep deleted; the rebuild replayed it: sweep both with the
      // transaction's one cutoff, so they can be compared (live sweeps wait for this lock)
      const expired = {
        live: await deleteExpiredReadings(client, LIVE_SCHEMA, null),
        rebuilt: await deleteExpiredReadings(client, REBUILD_SCHEMA, null),
      };
      log.info({ event: 'rebuild_retention_applied', ...expired }, 'retention applied to both read models');
      const tables = await compare(client);
      const equal = tables.every((t) => t.onlyLive === 0 && t.onlyRebuilt === 0);
      if (swap) {
        const old = `${LIVE_SCHEMA}_old_${Date.now()}`;
        await client.query(`ALTER SCHEMA ${LIVE_SCHEMA} RENAME TO ${old}`);
        await client.query(`ALTER SCHEMA ${REBUILD_SCHEMA} RENAME TO ${LIVE_SCHEMA}`);
        await client.query('COMMIT');
        lockedMs = Date.now() - lockedAt;
        await client.query(`DROP SCHEMA ${old} CASCADE`);
      } else {
        await client.query('COMMIT');
        lockedMs = Date.now() - lockedAt;
        await client.query(`DROP SCHEMA ${REBUILD_SCHEMA} CASCADE`);
      }
      const report: RebuildReport = {
        topic: opts.topic,
        offsets: Object.fromEntries([...limits].map(([p, o]) => [String(p), o.toString()])),
        records: Number(total(limits)),
        tables,
        equal,
        swapped: swap,
        lockedMs,
        durationMs: Date.now() - started,
      };
      log.info(
        { event: 'rebuild_finished', ...report },
        equal ? 'rebuilt read models equal the live ones' : 'rebuilt read models differ from the live ones',
      );
      return report;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  } finally {
    await projector.stop();
  }
}

/**
 * `read_model_rebuild` with an empty copy of every table of `read_model`: columns, constraints, indexes (same
 * names), storage parameters.
 */
async function createShadowSchema(pool: Pool): Promise<void> {
  await withTransaction(pool, async (client) => {
    await client.query(`DROP SCHEMA IF EXISTS ${REBUILD_SCHEMA} CASCADE`);
    await client.query(`CREATE SCHEMA ${REBUILD_SCHEMA}`);
    const { rows: tables } = await client.query<{ table: string }>(
      `SELECT tablename AS table FROM pg_tables WHERE schemaname = $1 ORDER BY tablename`,
      [LIVE_SCHEMA],
    );
    for (const { table } of tables) {
      await client.query(
        `CREATE TABLE ${REBUILD_SCHEMA}.${table} (LIKE ${LIVE_SCHEMA}.${table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING COMMENTS)`,
      );
      // storage parameters (fillfactor) are not copied by LIKE
      const { rows: options } = await client.query<{ reloptions: string[] | null }>(
        `SELECT reloptions FROM pg_class WHERE oid = $1::regclass`,
        [`${LIVE_SCHEMA}.${table}`],
      );
      const reloptions = options[0]?.reloptions ?? [];
      if (reloptions.length > 0)
        await client.query(`ALTER TABLE ${REBUILD_SCHEMA}.${table} SET (${reloptions.join(', ')})`);
      const { rows: constraints } = await client.query<{ name: string; def: string }>(
        `SELECT conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint
       WHERE conrelid = $1::regclass AND contype IN ('p', 'u', 'x') ORDER BY conname`,
        [`${LIVE_SCHEMA}.${table}`],
      );
      for (const c of constraints) {
        await client.query(`ALTER TABLE ${REBUILD_SCHEMA}.${table} ADD CONSTRAINT ${c.name} ${c.def}`);
      }
      const { rows: indexes } = await client.query<{ def: string }>(
        `SELECT pg_get_indexdef(i.indexrelid) AS def FROM pg_index i
       WHERE i.indrelid = $1::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
       ORDER BY i.indexrelid`,
        [`${LIVE_SCHEMA}.${table}`],
      );
      for (const { def } of indexes) {
        await client.query(def.replace(` ON ${LIVE_SCHEMA}.`, ` ON ${REBUILD_SCHEMA}.`));
      }
    }
  });
}

/** Rows of each table present on one side only (multiset difference, every column but the volatile ones). */
async function compare(client: PoolClient): Promise<TableDifference[]> {
  const { rows: columns } = await client.query<{ table: string; column: string }>(
    `SELECT table_name AS table, column_name AS column FROM information_schema.columns
     WHERE table_schema = $1 ORDER BY table_name, ordinal_position`,
    [LIVE_SCHEMA],
  );
  const byTable = new Map<string, string[]>();
  for (const { table, column } of columns) {
    if (VOLATILE_COLUMNS.has(column)) continue;
    byTable.set(table, [...(byTable.get(table) ?? []), `"${column}"`]);
  }
  const out: TableDifference[] = [];
  for (const [table, cols] of byTable) {
    const list = cols.join(', ');
    const live = `SELECT ${list} FROM ${LIVE_SCHEMA}.${table}`;
    const rebuilt = `SELECT ${list} FROM ${REBUILD_SCHEMA}.${table}`;
    const { rows } = await client.query<{ only_live: string; only_rebuilt: string; n: string }>(
      `SELECT (SELECT count(*) FROM (${live} EXCEPT ALL ${rebuilt}) a) AS only_live,
              (SELECT count(*) FROM (${rebuilt} EXCEPT ALL ${live}) b) AS only_rebuilt,
              (SELECT count(*) FROM ${LIVE_SCHEMA}.${table}) AS n`,
    );
    const r = rows[0]!;
    out.push({ table, onlyLive: Number(r.only_live), onlyRebuilt: Number(r.only_rebuilt), rows: Number(r.n) });
  }
  return out;
}
