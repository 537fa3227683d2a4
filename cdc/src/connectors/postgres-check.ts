import { Client } from 'pg';
import { cdcError } from '../errors';
import type { ConnectorConfig } from './schema';

/** Where a connector reads from, as the connector itself logs in. */
export interface PostgresTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

/** The database a connector config points at. */
export function postgresTargetOf(
  config: Pick<ConnectorConfig, `database.${'hostname' | 'port' | 'dbname' | 'user' | 'password'}`>,
): PostgresTarget {
  return {
    host: config['database.hostname'],
    port: Number(config['database.port']),
    database: config['database.dbname'],
    user: config['database.user'],
    password: config['database.password'],
  };
}

const LOGIN_REJECTED = new Set(['28P01', '28000']);

/**
 * Logs in to PostgreSQL as the connector would and runs `SELECT 1`. Raises `CDC_ERR_POSTGRES_UNREACHABLE`
 * naming host, port, database and user, saying whether nothing answered or the server refused the login.
 */
export async function checkPostgresReachable(target: PostgresTarget, { timeoutMs = 5_000 } = {}): Promise<void> {
  const client = new Client({ ...target, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    const sqlState = (err as { code?: unknown }).code;
    const where = `PostgreSQL at ${target.host}:${target.port} (database ${target.database}, user ${target.user})`;
    const what =
      typeof sqlState === 'string' && LOGIN_REJECTED.has(sqlState)
        ? `${where} refused the login`
        : sqlState === '3D000'
          ? `${where}: the database does not exist`
          : `${where} is not reachable`;
    throw cdcError('CDC_ERR_POSTGRES_UNREACHABLE', `${what}: ${(err as Error).message}`, {
      cause: err,
      details: { host: target.host, port: target.port, database: target.database, user: target.user, sqlState },
    });
  } finally {
    await client.end().catch(() => undefined);
  }
}
