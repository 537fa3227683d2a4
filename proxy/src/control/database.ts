import { createPool, withTransaction, type Logger } from '@warmhouse/shared';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { ProxyError } from '../errors';

/** SQLSTATE classes that mean "the store cannot be reached or cannot serve now", not "the statement is wrong". */
const UNAVAILABLE_CLASSES = ['08', '53', '57', '58'];

/** Whether an error of the pg driver means the store is unreachable (no SQLSTATE, or a connection/resource class). */
export function isUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return UNAVAILABLE_CLASSES.includes(code.slice(0, 2));
}

/** Maps a driver error: unreachable → PROXY_ERR_CONTROL_STORE_UNAVAILABLE (503), anything else as it is. */
export function storeError(err: unknown): unknown {
  if (err instanceof ProxyError || !isUnavailable(err)) return err;
  return new ProxyError('PROXY_ERR_CONTROL_STORE_UNAVAILABLE', {
    message: `the control store cannot be reached: ${(err as Error).message}`,
    cause: err,
  });
}

/** Thrown inside {@link ControlDatabase.transaction}: rolls the transaction back, which then returns `value`. */
export class Rollback<T> extends Error {
  constructor(readonly value: T) {
    super('rolled back');
  }
}

/** Options of {@link ControlDatabase}. */
export interface ControlDatabaseOptions {
  url: string;
  logger: Logger;
  /** Connections kept at most (admin writes, heartbeats, evidence, pins). */
  maxConnections?: number;
  /** Connecting, and each statement, at most (ms): a store that hangs fails fast instead of holding requests. */
  timeoutMs?: number;
}

/**
 * The proxy's connection pool to the control database (PROXY_CONTROL_DATABASE_URL). Every query fails fast
 * (connect and statement timeouts) and an unreachable store is reported as one coded error.
 */
export class ControlDatabase {
  readonly pool: Pool;
  readonly url: string;

  constructor(options: ControlDatabaseOptions) {
    const timeoutMs = options.timeoutMs ?? 3_000;
    this.url = options.url;
    this.pool = createPool(options.url, options.logger, {
      max: options.maxConnections ?? 6,
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
      statement_timeout: timeoutMs,
      idleTimeoutMillis: 30_000,
      application_name: 'strangler-proxy',
    });
    // a checked-out client whose connection drops between two statements emits 'error' outside any query:
    // without a listener that would end the process (the statement in flight fails on its own)
    this.pool.on('connect', (client) =>
      client.on('error', (err) =>
        options.logger.warn({ event: 'control_store_connection_lost', err }, 'control store connection lost'),
      ),
    );
  }

  async query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>(text, values)).rows;
    } catch (err) {
      throw storeError(err);
    }
  }

  /** Runs `work` in one transaction; `throw new Rollback(value)` inside it rolls back and returns `value`. */
  async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    try {
      return await withTransaction(this.pool, work);
    } catch (err) {
      if (err instanceof Rollback) return err.value as T;
      throw storeError(err);
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
