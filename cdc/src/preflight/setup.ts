import type { Client } from 'pg';
import type { PreflightFacts } from './facts';
import { ensureLedger, recordCreated } from './ledger';

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** What {@link createStackObjects} did, one line each. */
export type SetupStep = string;

async function classOid(client: Client, name: string): Promise<number> {
  const { rows } = await client.query<{ oid: string }>('SELECT to_regclass($1)::oid::text AS oid', [name]);
  return Number(rows[0]?.oid);
}

/**
 * Creates what the connector needs and the preflight found absent but creatable — the heartbeat table and the
 * publication — as the setup login, recording each in the ledger so `cdc:teardown` removes exactly these.
 * Run only after a preflight without ✗. Objects already there are used as they are and not recorded.
 */
export async function createStackObjects(client: Client, facts: PreflightFacts): Promise<SetupStep[]> {
  const steps: SetupStep[] = [];
  const { names } = facts;
  await ensureLedger(client);
  if (!facts.heartbeat.exists) {
    await client.query(`CREATE TABLE ${names.heartbeatTable} (id INT PRIMARY KEY, beat_at TIMESTAMPTZ NOT NULL)`);
    await client.query(`ALTER TABLE ${names.heartbeatTable} REPLICA IDENTITY FULL`);
    await client.query(`GRANT SELECT, INSERT, UPDATE ON ${names.heartbeatTable} TO ${ident(facts.debezium.user)}`);
    await recordCreated(client, {
      kind: 'table',
      name: names.heartbeatTable,
      oid: await classOid(client, names.heartbeatTable),
    });
    steps.push(`created heartbeat table ${names.heartbeatTable}`);
  }
  if (!facts.publication.exists) {
    const tables = [...names.tables, names.heartbeatTable].join(', ');
    await client.query(`CREATE PUBLICATION ${ident(names.publication)} FOR TABLE ${tables}`);
    const { rows } = await client.query<{ oid: string }>('SELECT oid::text FROM pg_publication WHERE pubname = $1', [
      names.publication,
    ]);
    await recordCreated(client, { kind: 'publication', name: names.publication, oid: Number(rows[0]?.oid) });
    steps.push(`created publication ${names.publication} for ${tables}`);
  }
  return steps;
}

/**
 * Records the replication slot as the stack's when it does not exist yet (the connector creates it when it
 * starts), so `cdc:teardown` drops it; a slot that exists already is someone's and never recorded.
 */
export async function recordSlotIfAbsent(client: Client, facts: PreflightFacts): Promise<SetupStep[]> {
  await ensureLedger(client);
  if (facts.slot.exists) return [];
  await recordCreated(client, { kind: 'slot', name: facts.names.slot, oid: null });
  return [`recorded replication slot ${facts.names.slot} (the connector creates it)`];
}

/**
 * Records the replication slot and the connector as the stack's when they do not exist yet (call right before
 * registering the connector, which creates the slot).
 */
export async function recordConnectorAndSlot(
  client: Client,
  facts: PreflightFacts,
  connector: { name: string; registered: boolean },
): Promise<void> {
  await recordSlotIfAbsent(client, facts);
  if (!connector.registered) await recordCreated(client, { kind: 'connector', name: connector.name, oid: null });
}
