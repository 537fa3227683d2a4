import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Client, type Pool } from 'pg';
import { createLogger, createPool, runMigrations } from '@warmhouse/shared';
import { createApp, seedIfEmpty } from '../src';

/** A stand-in on its own throwaway database, listening on a free port of 127.0.0.1. */
export interface StandInUnderTest {
  readonly baseUrl: string;
  readonly databaseName: string;
  /** pool on the stand-in's database, for tests that play the field hardware or inspect rows */
  readonly pool: Pool;
  /** closes the server and the pool, then drops the database */
  stop(): Promise<void>;
}

const withDatabase = (url: string, database: string) => {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
};

async function asSuperuser(superuserUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: superuserUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * Creates a uniquely named database through the superuser URL, applies migrations/monolith with
 * node-pg-migrate, seeds heating systems 1..4 and starts `createApp` in-process on port 0.
 */
export async function startStandIn(superuserUrl: string, prefix: string): Promise<StandInUnderTest> {
  const databaseName = `${prefix}_${randomBytes(6).toString('hex')}`;
  if (!/^[a-z_][a-z0-9_]*$/.test(databaseName)) throw new Error(`unsafe database name ${databaseName}`);
  await asSuperuser(superuserUrl, `CREATE DATABASE ${databaseName}`);
  const dropDatabase = () => asSuperuser(superuserUrl, `DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
  let pool: Pool | undefined;
  try {
    const databaseUrl = withDatabase(superuserUrl, databaseName);
    await runMigrations('monolith', databaseUrl);
    const logger = createLogger('monolith-standin-test', process.env.TEST_LOG_LEVEL ?? 'silent');
    const open = createPool(databaseUrl, logger, { max: 4 });
    pool = open;
    await seedIfEmpty(open);
    const server = createApp({ pool: open, logger }).listen(0, '127.0.0.1');
    await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
    const { port } = server.address() as AddressInfo;
    return {
      baseUrl: `http://127.0.0.1:${port}`,
      databaseName,
      pool: open,
      async stop() {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await open.end();
        await dropDatabase();
      },
    };
  } catch (err) {
    await pool?.end();
    await dropDatabase();
    throw err;
  }
}

export interface HeatingRow {
  id: string;
  is_on: boolean;
  target_temperature: number;
  current_temperature: number;
}

export async function heatingRows(pool: Pool): Promise<HeatingRow[]> {
  const { rows } = await pool.query<HeatingRow>(
    'SELECT id, is_on, target_temperature, current_temperature FROM heating_systems ORDER BY id',
  );
  return rows;
}
