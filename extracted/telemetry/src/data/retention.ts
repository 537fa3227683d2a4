import { withTransaction, type Queryable } from '@warmhouse/shared';
import type { Pool } from 'pg';
import { LIVE_SCHEMA } from './projection-store';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]*$/;

/**
 * Deletes raw readings (`<schema>.readings`) older than the retention their device was provisioned with by the
 * connect-device saga (deprovisioned devices included: retention is the data policy, not the connection). Devices
 * without a provisioning row are never touched (the service has no default retention). Rollups, `latest` and
 * device houses are left as they are. The cutoff is the transaction's `now()`, so two calls in one transaction
 * (the rebuild sweeps the live and the rebuilt schema before comparing them) use the same one.
 *
 * @param limit most rows deleted by this call; `null`: all of them
 * @returns the number of rows deleted
 */
export async function deleteExpiredReadings(db: Queryable, schema: string, limit: number | null): Promise<number> {
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid schema name ${schema}`);
  const { rowCount } = await db.query(
    `DELETE FROM ${schema}.readings r
     WHERE (r.device_id, r.metric, r.measured_at) IN (
       SELECT x.device_id, x.metric, x.measured_at
       FROM provisioning.devices p
       JOIN ${schema}.readings x ON x.device_id = p.device_id
       WHERE x.measured_at < now() - make_interval(days => p.retention_days)
       LIMIT $1
     )`,
    [limit],
  );
  return rowCount ?? 0;
}

/**
 * One bounded batch of the live retention sweep, in its own transaction. It first takes a ROW SHARE lock on
 * `read_model.projection_offsets`, which waits while a rebuild holds its EXCLUSIVE lock there: the rebuild sweeps
 * both schemas with one cutoff and compares them, and a live sweep with a later cutoff in between would make them
 * differ.
 */
export function deleteExpiredReadingsBatch(pool: Pool, batchSize: number): Promise<number> {
  return withTransaction(pool, async (client) => {
    await client.query(`LOCK TABLE ${LIVE_SCHEMA}.projection_offsets IN ROW SHARE MODE`);
    return deleteExpiredReadings(client, LIVE_SCHEMA, batchSize);
  });
}
