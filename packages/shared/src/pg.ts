import { Pool, type PoolConfig } from 'pg';
import type { Logger } from 'pino';

/** A pg pool whose idle-client errors are logged instead of crashing the process. */
export function createPool(connectionString: string, logger: Logger, options: PoolConfig = {}): Pool {
  const pool = new Pool({ connectionString, max: 10, ...options });
  pool.on('error', (err) => logger.error({ err, event: 'pg_pool_error' }, 'idle PostgreSQL client failed'));
  return pool;
}
