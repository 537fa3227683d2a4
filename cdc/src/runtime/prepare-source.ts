import { Client } from 'pg';

/** The monolith tables Debezium captures, plus the heartbeat table that keeps the slot moving when they are idle. */
export const CAPTURED_TABLES = ['public.heating_systems', 'public.temperature_sensors'] as const;
export const HEARTBEAT_TABLE = 'public.cdc_heartbeat';
export const PUBLICATION = 'warmhouse_monolith_pub';
export const SLOT = 'warmhouse_monolith';

const quoteLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * Prepares the monolith database as a CDC source (idempotent; run as a superuser or the database owner):
 * - a `debezium` role with REPLICATION and only SELECT on the captured tables (plus writing its heartbeat row);
 * - REPLICA IDENTITY FULL on captured tables, so updates and deletes carry the whole before-image
 *   (consumers compare old and new values, e.g. telemetry turns a changed `current_temperature` into a reading);
 * - the publication for exactly these tables, created here so Debezium needs no superuser or table ownership.
 */
export async function prepareMonolithSource(
  superuserUrlOfMonolithDb: string,
  debezium: { user: string; password: string },
): Promise<void> {
  const client = new Client({ connectionString: superuserUrlOfMonolithDb });
  await client.connect();
  try {
    const role = `"${debezium.user}"`;
    await client.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${quoteLiteral(debezium.user)}) THEN
        CREATE ROLE ${role} LOGIN REPLICATION;
      END IF; END $$`);
    await client.query(`ALTER ROLE ${role} WITH LOGIN REPLICATION PASSWORD ${quoteLiteral(debezium.password)}`);
    const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
    await client.query(`GRANT CONNECT ON DATABASE "${rows[0]?.db}" TO ${role}`);
    await client.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${HEARTBEAT_TABLE} (id INT PRIMARY KEY, beat_at TIMESTAMPTZ NOT NULL)`,
    );
    await client.query(`GRANT SELECT, INSERT, UPDATE ON ${HEARTBEAT_TABLE} TO ${role}`);
    for (const table of CAPTURED_TABLES) {
      await client.query(`ALTER TABLE ${table} REPLICA IDENTITY FULL`);
      await client.query(`GRANT SELECT ON ${table} TO ${role}`);
    }
    const tables = [...CAPTURED_TABLES, HEARTBEAT_TABLE].join(', ');
    const exists = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [PUBLICATION]);
    await client.query(
      exists.rowCount
        ? `ALTER PUBLICATION ${PUBLICATION} SET TABLE ${tables}`
        : `CREATE PUBLICATION ${PUBLICATION} FOR TABLE ${tables}`,
    );
  } finally {
    await client.end();
  }
}

/** Drops the connector's replication slot (it pins WAL forever once nobody reads it). */
export async function dropSlot(superuserUrlOfMonolithDb: string, slot = SLOT): Promise<void> {
  const client = new Client({ connectionString: superuserUrlOfMonolithDb, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query(
      `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`,
      [slot],
    );
    await client.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, [
      slot,
    ]);
  } finally {
    await client.end();
  }
}
