import { Pool } from 'pg';

const TEXT_LSN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/** PostgreSQL's text LSN (`16/B374D848`) as an unsigned 64-bit integer. */
export function parseLsn(text: string): bigint {
  const m = TEXT_LSN.exec(text);
  if (!m) throw new RangeError(`not a PostgreSQL LSN: ${JSON.stringify(text)}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

/**
 * Reads the source database's current WAL position through a small read-only pool (`default_transaction_read_only`
 * and a statement timeout are set on every connection). Any role may call `pg_current_wal_lsn()`.
 */
export class WalPosition {
  private readonly pool: Pool;

  /** `timeoutMs` bounds connecting and the query; the key stays pinned (pending) meanwhile. */
  constructor(url: string, timeoutMs: number) {
    this.pool = new Pool({
      connectionString: url,
      max: 2,
      // kept open: a write's answer should not wait for a new connection before its pin can be settled
      idleTimeoutMillis: 0,
      connectionTimeoutMillis: timeoutMs,
      statement_timeout: timeoutMs,
      options: '-c default_transaction_read_only=on',
      application_name: 'strangler-proxy-cdc',
    });
    // an idle client losing its connection must not crash the proxy; the next query reconnects
    this.pool.on('error', () => undefined);
  }

  async current(): Promise<bigint> {
    const { rows } = await this.pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    return parseLsn(rows[0]!.lsn);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
