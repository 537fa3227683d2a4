import type { Client } from 'pg';

/**
 * The stack's record, in the user's own database, of what it created there: so `cdc:teardown` removes exactly
 * those objects and nothing a DBA made (objects with an oid are matched by oid, so one dropped and re-created
 * by someone else under the same name is left alone).
 */
export const LEDGER_TABLE = 'public.warmhouse_cdc_created';

export type LedgerKind = 'connector' | 'slot' | 'publication' | 'table';

export interface LedgerEntry {
  kind: LedgerKind;
  name: string;
  /** pg_publication.oid or pg_class.oid at creation; null for a slot or a connector */
  oid: number | null;
}

export async function ensureLedger(client: Client): Promise<void> {
  await client.query(`CREATE TABLE IF NOT EXISTS ${LEDGER_TABLE} (
    kind TEXT NOT NULL, name TEXT NOT NULL, oid BIGINT, created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, name))`);
  await client.query(
    `COMMENT ON TABLE ${LEDGER_TABLE} IS 'objects the Warm House strangler stack created in this database; npm run cdc:teardown removes them and this table'`,
  );
}

export async function recordCreated(client: Client, entry: LedgerEntry): Promise<void> {
  await client.query(
    `INSERT INTO ${LEDGER_TABLE} (kind, name, oid) VALUES ($1, $2, $3)
     ON CONFLICT (kind, name) DO UPDATE SET oid = EXCLUDED.oid, created_at = now()`,
    [entry.kind, entry.name, entry.oid],
  );
}

export async function readLedger(client: Client): Promise<LedgerEntry[]> {
  const { rows } = await client.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [
    LEDGER_TABLE,
  ]);
  if (!rows[0]?.exists) return [];
  const result = await client.query<{ kind: LedgerKind; name: string; oid: string | null }>(
    `SELECT kind, name, oid::text FROM ${LEDGER_TABLE} ORDER BY created_at`,
  );
  return result.rows.map((r) => ({ kind: r.kind, name: r.name, oid: r.oid === null ? null : Number(r.oid) }));
}

export async function forgetCreated(client: Client, entry: Pick<LedgerEntry, 'kind' | 'name'>): Promise<void> {
  await client.query(`DELETE FROM ${LEDGER_TABLE} WHERE kind = $1 AND name = $2`, [entry.kind, entry.name]);
}

/** Drops the ledger once nothing is left in it; returns whether it is gone. */
export async function dropLedgerIfEmpty(client: Client): Promise<boolean> {
  if ((await readLedger(client)).length > 0) return false;
  await client.query(`DROP TABLE IF EXISTS ${LEDGER_TABLE}`);
  return true;
}
