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

/** A connection URL as the target it logs in to (a missing port is 5432, a missing password empty). */
export function postgresTargetOfUrl(url: string): PostgresTarget {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 5432),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
  };
}

/**
 * Logs in to PostgreSQL and returns the connected client. Raises `CDC_ERR_POSTGRES_UNREACHABLE` naming host, port,
 * database and user, saying whether nothing answered, the server refused the login or the database is missing.
 */
export async function connectPostgres(target: PostgresTarget, { timeoutMs = 5_000 } = {}): Promise<Client> {
  const client = new Client({ ...target, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.end().catch(() => undefined);
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
  }
}

/** Logs in to PostgreSQL as the connector would and runs `SELECT 1` (errors as {@link connectPostgres}). */
export async function checkPostgresReachable(target: PostgresTarget, { timeoutMs = 5_000 } = {}): Promise<void> {
  const client = await connectPostgres(target, { timeoutMs });
  try {
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}
