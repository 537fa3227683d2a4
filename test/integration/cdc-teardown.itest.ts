import { spawn } from 'node:child_process';
import path from 'node:path';
import { Client } from 'pg';
import { databaseUrl, ensureDatabase, runMigrations, waitFor } from '@warmhouse/shared';
import { findPostgresBinDir } from '../../cdc/src/runtime/postgres';
import { readTestEndpoints } from '../stack-endpoints';
import { runCli } from '../support/run-cli';

/**
 * Issue 17: a database of "the user's" prepared by `cdc:preflight --apply --prepare --record-slot` (the chart's hook), a slot streamed to by a real
 * logical-replication client (pg_recvlogical), then `cdc:teardown`: it refuses the active slot, removes what the
 * stack recorded, and once the client is gone leaves no slot, publication, heartbeat table or ledger behind.
 */
const DB = 'byo_teardown';
const SLOT = 'byo_teardown';
const owner = { user: 'byo_owner', password: 'byo-owner-pw' };
const debezium = { user: 'byo_debezium', password: 'byo-debezium-pw' };

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

describe('cdc:preflight --apply --prepare --record-slot, then cdc:teardown', () => {
  const endpoints = readTestEndpoints();
  const superuser = endpoints.postgres.superuserUrl;
  const ownerUrl = databaseUrl(superuser, DB, owner);
  const debeziumUrl = databaseUrl(superuser, DB, debezium);
  const env = {
    MONOLITH_DATABASE_URL: ownerUrl,
    DEBEZIUM_DATABASE_URL: debeziumUrl,
    CDC_SLOT_NAME: SLOT,
    CONNECT_URL: endpoints.connect.url,
  };
  let streamer: ReturnType<typeof spawn> | undefined;
  let streamerExited = false;

  const slotState = () =>
    withClient(
      superuser,
      async (c) =>
        (await c.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [SLOT]))
          .rows[0],
    );

  beforeAll(async () => {
    await ensureDatabase(superuser, DB, owner);
    await withClient(superuser, async (c) => {
      await c.query(`DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${debezium.user}') THEN
        CREATE ROLE ${debezium.user} LOGIN REPLICATION PASSWORD '${debezium.password}'; END IF; END $$`);
      await c.query(`GRANT CONNECT ON DATABASE ${DB} TO ${debezium.user}`);
    });
    await runMigrations('monolith', ownerUrl);
  });

  afterAll(async () => {
    if (streamer && !streamerExited) streamer.kill('SIGTERM');
    await waitFor('pg_recvlogical to exit', () => (streamer === undefined || streamerExited ? true : undefined), {
      timeoutMs: 10_000,
    });
    await withClient(superuser, async (c) => {
      await c.query(
        'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active',
        [SLOT],
      );
      await c.query(`DROP DATABASE IF EXISTS ${DB}`);
      await c.query(`DROP ROLE IF EXISTS ${debezium.user}`);
      await c.query(`DROP ROLE IF EXISTS ${owner.user}`);
    });
  });

  it('the preflight names the owner\u2019s fixes; --apply runs them, --prepare creates and records the rest', async () => {
    const before = await runCli('cdc/src/preflight-cli.ts', [], env);
    expect(before.code).toBe(1);
    expect(before.stdout).toContain(
      '\u2717 select: login byo_debezium may not SELECT public.heating_systems, public.temperature_sensors',
    );
    expect(before.stdout).toContain(
      '    fix as the tables\u2019 owner (no restart): ALTER TABLE public.heating_systems REPLICA IDENTITY FULL;',
    );

    // as the chart's pre-install hook runs it: the slot the connector is about to create is recorded too
    const after = await runCli('cdc/src/preflight-cli.ts', ['--apply', '--prepare', '--record-slot'], env);
    expect(after.stdout).toContain(
      'applied (select): GRANT SELECT ON public.heating_systems, public.temperature_sensors TO "byo_debezium"',
    );
    expect(after.stdout).not.toContain('\u2717');
    expect(after.stdout).toContain('created heartbeat table public.cdc_heartbeat');
    expect(after.stdout).toContain('created publication warmhouse_monolith_pub');
    expect(after.stdout).toContain('recorded replication slot byo_teardown (the connector creates it)');
    expect(after.code).toBe(0);
  });

  it('refuses an active slot, removes the rest; after the client is gone nothing is left', async () => {
    // the slot, created by the replication login as Debezium does (recorded by --record-slot above)
    await withClient(debeziumUrl, (c) => c.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [SLOT]));
    const conn = `host=127.0.0.1 port=${endpoints.postgres.port} dbname=${DB} user=${debezium.user} password=${debezium.password}`;
    streamer = spawn(
      path.join(findPostgresBinDir(), 'pg_recvlogical'),
      [
        '-d',
        conn,
        '--slot',
        SLOT,
        '--start',
        '-o',
        'proto_version=1',
        '-o',
        'publication_names=warmhouse_monolith_pub',
        '-f',
        '/dev/null',
      ],
      { stdio: 'ignore' },
    );
    streamer.once('exit', () => (streamerExited = true));
    await waitFor('the slot to be active', async () => ((await slotState())?.active ? true : undefined), {
      timeoutMs: 30_000,
    });

    const refused = await runCli('cdc/src/teardown-cli.ts', [], env);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(
      /^\u2717 slot byo_teardown: not removed: active \(pid \d+\): stop its consumer first$/m,
    );
    expect(refused.stdout).toContain('\u2713 publication warmhouse_monolith_pub: removed');
    expect(refused.stdout).toContain('\u2713 table public.cdc_heartbeat: removed');

    streamer.kill('SIGTERM');
    await waitFor('pg_recvlogical to exit', () => (streamerExited ? true : undefined), { timeoutMs: 10_000 });
    await waitFor('the slot to be released', async () => ((await slotState())?.active === false ? true : undefined), {
      timeoutMs: 30_000,
    });

    const done = await runCli('cdc/src/teardown-cli.ts', [], env);
    expect(done.stdout).toBe(
      '\u2713 slot byo_teardown: removed\n\u2713 ledger removed: nothing of the stack is left\n',
    );
    expect(done.code).toBe(0);

    expect(await slotState()).toBeUndefined();
    const left = await withClient(ownerUrl, async (c) => ({
      publications: (await c.query('SELECT pubname FROM pg_publication')).rows,
      heartbeat: (await c.query(`SELECT to_regclass('public.cdc_heartbeat') AS t`)).rows[0]?.t,
      ledger: (await c.query(`SELECT to_regclass('public.warmhouse_cdc_created') AS t`)).rows[0]?.t,
      tables: (await c.query(`SELECT to_regclass('public.heating_systems') AS t`)).rows[0]?.t,
    }));
    expect(left).toEqual({ publications: [], heartbeat: null, ledger: null, tables: 'heating_systems' });
  });

  it('removes nothing it did not record: the test stack\u2019s own slot and publication stay', async () => {
    const run = await runCli('cdc/src/teardown-cli.ts', [], {
      ...env,
      MONOLITH_DATABASE_URL: endpoints.postgres.monolithUrl,
      DEBEZIUM_DATABASE_URL: endpoints.postgres.monolithUrl,
      CDC_SLOT_NAME: endpoints.slotName,
    });
    expect(run).toMatchObject({
      code: 0,
      stdout: '\u2713 nothing recorded as created by the stack in this database\n',
    });
    const slot = await withClient(
      superuser,
      async (c) =>
        (await c.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [endpoints.slotName])).rows,
    );
    expect(slot).toEqual([{ active: true }]);
  });
});
