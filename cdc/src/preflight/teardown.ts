import { waitFor } from '@warmhouse/shared';
import type { Client } from 'pg';
import { connectRequest } from '../connectors/connect-client';
import { dropLedgerIfEmpty, forgetCreated, readLedger, type LedgerEntry } from './ledger';
import { planTeardown, type TeardownState, type TeardownStep } from './teardown-plan';

export interface TeardownOptions {
  /** the owner login (drops the publication and the table, keeps the ledger) */
  setup: Client;
  /** a login with REPLICATION (drops the slot); may be `setup` */
  replication: Client;
  connectUrl: string;
  /** how long a slot may stay active after its connector was deleted (its walsender ending), ms */
  slotReleaseTimeoutMs?: number;
}

/** A done or refused step, for the report. */
export interface TeardownLine {
  ok: boolean;
  text: string;
}

async function connectorsOf(connectUrl: string): Promise<string[] | null> {
  try {
    const { body } = await connectRequest(connectUrl, 'GET', '/connectors', { timeoutMs: 5_000 });
    return Array.isArray(body) ? body.map(String) : [];
  } catch {
    return null;
  }
}

async function readState(setup: Client, connectUrl: string, ledger: readonly LedgerEntry[]): Promise<TeardownState> {
  const names = (kind: LedgerEntry['kind']) => ledger.filter((e) => e.kind === kind).map((e) => e.name);
  const slots = await setup.query<{ name: string; active: boolean; active_pid: number | null }>(
    'SELECT slot_name AS name, active, active_pid FROM pg_replication_slots WHERE slot_name = ANY($1::text[])',
    [names('slot')],
  );
  const pubs = await setup.query<{ name: string; oid: string }>(
    'SELECT pubname AS name, oid::text FROM pg_publication WHERE pubname = ANY($1::text[])',
    [names('publication')],
  );
  const tables = await setup.query<{ name: string; oid: string | null }>(
    'SELECT n AS name, to_regclass(n)::oid::text AS oid FROM unnest($1::text[]) AS n',
    [names('table')],
  );
  return {
    connectors: names('connector').length > 0 ? await connectorsOf(connectUrl) : [],
    slots: slots.rows.map((r) => ({ name: r.name, active: r.active, activePid: r.active_pid })),
    publications: pubs.rows.map((r) => ({ name: r.name, oid: Number(r.oid) })),
    tables: tables.rows.filter((r) => r.oid !== null).map((r) => ({ name: r.name, oid: Number(r.oid) })),
  };
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function remove(step: TeardownStep, o: TeardownOptions): Promise<void> {
  const { kind, name } = step.entry;
  if (kind === 'connector') {
    await connectRequest(o.connectUrl, 'DELETE', `/connectors/${encodeURIComponent(name)}`, { accept: [404] });
  } else if (kind === 'slot') {
    await o.replication.query('SELECT pg_drop_replication_slot($1)', [name]);
  } else if (kind === 'publication') {
    await o.setup.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(name)}`);
  } else {
    await o.setup.query(`DROP TABLE IF EXISTS ${name}`); // a schema-qualified name from our own ledger
  }
}

/**
 * `cdc:teardown`: removes what the ledger says the stack created, nothing else: the connector first, then (once
 * its walsender let go, or refused while still active) the slot, the publication, the heartbeat table, and the
 * ledger itself when nothing is left in it.
 */
export async function runTeardown(o: TeardownOptions): Promise<TeardownLine[]> {
  const lines: TeardownLine[] = [];
  const ledger = await readLedger(o.setup);
  if (ledger.length === 0) {
    await dropLedgerIfEmpty(o.setup);
    return [{ ok: true, text: 'nothing recorded as created by the stack in this database' }];
  }
  const perform = async (steps: TeardownStep[]) => {
    for (const step of steps) {
      const what = `${step.entry.kind} ${step.entry.name}`;
      if (step.action === 'refuse') {
        lines.push({ ok: false, text: `${what}: not removed: ${step.reason}` });
        continue;
      }
      try {
        if (step.action === 'remove') await remove(step, o);
        await forgetCreated(o.setup, step.entry);
        lines.push({ ok: true, text: step.action === 'remove' ? `${what}: removed` : `${what}: ${step.reason}` });
      } catch (err) {
        lines.push({ ok: false, text: `${what}: not removed: ${(err as Error).message}` });
      }
    }
  };
  const connectors = ledger.filter((e) => e.kind === 'connector');
  await perform(planTeardown(connectors, await readState(o.setup, o.connectUrl, connectors)));
  const rest = ledger.filter((e) => e.kind !== 'connector');
  const slotNames = rest.filter((e) => e.kind === 'slot').map((e) => e.name);
  if (connectors.length > 0 && slotNames.length > 0) {
    // the deleted connector's walsender lets go of the slot within moments (at worst wal_sender_timeout)
    await waitFor(
      'the slot to be released',
      async () => {
        const s = await readState(o.setup, o.connectUrl, rest);
        return s.slots.some((x) => x.active) ? undefined : true;
      },
      { timeoutMs: o.slotReleaseTimeoutMs ?? 30_000, intervalMs: 250 },
    ).catch(() => undefined); // still active: the plan refuses it, naming the pid
  }
  await perform(planTeardown(rest, await readState(o.setup, o.connectUrl, rest)));
  if (await dropLedgerIfEmpty(o.setup)) lines.push({ ok: true, text: 'ledger removed: nothing of the stack is left' });
  return lines;
}
