import { Pool, type PoolClient, type PoolConfig, type QueryResultRow } from 'pg';
import type { Logger } from 'pino';

/** A pg pool whose idle-client errors are logged instead of crashing the process. */
export function createPool(connectionString: string, logger: Logger, options: PoolConfig = {}): Pool {
  const pool = new Pool({ connectionString, max: 10, ...options });
  pool.on('error', (err) => logger.error({ err, event: 'pg_pool_error' }, 'idle PostgreSQL client failed'));
  return pool;
}

/** Anything that runs a query: the pool or a client inside a transaction. */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}

/**
 * Runs `work` in one transaction. With `dryRun` everything `work` did is rolled back after it returned, so a
 * dry run goes through the same statements, constraints and triggers as a real one and leaves no trace.
 */
export async function withTransaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
  { dryRun = false }: { dryRun?: boolean } = {},
): Promise<T> {
  const client = await pool.connect();
  let released = false;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query(dryRun ? 'ROLLBACK' : 'COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackErr) {
      client.release(rollbackErr as Error); // the connection is broken: drop it from the pool
      released = true;
    }
    throw err;
  } finally {
    if (!released) client.release();
  }
}
