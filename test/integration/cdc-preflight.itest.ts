import path from 'node:path';
import { Client } from 'pg';
import { startPostgresCluster, type PostgresCluster } from '../../cdc/src/runtime/postgres';
import { STATE_ROOT } from '../../scripts/stack/layout';
import { stackCredentials } from '../../scripts/stack/backbone';
import { readTestEndpoints, TEST_PORT_BASE } from '../stack-endpoints';
import { runCli } from '../support/run-cli';

/**
 * Issue 17: `npm run cdc:preflight` against real servers — a server with wal_level=replica (the machine's own
 * PostgreSQL on 5432 when it is one, otherwise a cluster this test starts), a login without REPLICATION, and the
 * test stack's monolith database, where every check passes.
 */
const preflight = (env: Record<string, string>, args: string[] = []) => runCli('cdc/src/preflight-cli.ts', args, env);

/** The machine's PostgreSQL on 5432 if it answers as postgres with wal_level=replica. */
async function machineReplicaServer(): Promise<string | undefined> {
  const url = 'postgres://postgres@127.0.0.1:5432/postgres';
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ wal_level: string }>('SHOW wal_level');
    return rows[0]?.wal_level === 'replica' ? url : undefined;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('cdc:preflight', () => {
  const endpoints = readTestEndpoints();
  const { debezium, monolith } = stackCredentials();
  const stackUrl = (user: string, password: string) =>
    `postgres://${user}:${password}@127.0.0.1:${endpoints.postgres.port}/smart_home`;
  let ownCluster: PostgresCluster | undefined;

  afterAll(() => ownCluster?.stop()); // stops the postmaster of its data folder (pg_ctl, by its pid file)

  it('wal_level=replica: ✗ with the postgresql.conf change, restart needed, exit 1', async () => {
    let url = await machineReplicaServer();
    if (!url) {
      // no such server on this machine: a cluster of our own with wal_level=replica, on this run's ports
      ownCluster = startPostgresCluster(
        path.join(STATE_ROOT, `preflight-replica-${TEST_PORT_BASE}`),
        TEST_PORT_BASE + 440,
        () => undefined,
        {
          walLevel: 'replica',
        },
      );
      url = ownCluster.superuserUrl;
    }
    const run = await preflight({ MONOLITH_DATABASE_URL: url });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      [
        '\u2717 wal_level: wal_level = replica (logical decoding needs logical)',
        '    fix in postgresql.conf (restart needed): wal_level = logical',
        '    or as a superuser: ALTER SYSTEM SET wal_level = logical; (then restart)',
      ].join('\n'),
    );
    expect(run.stdout).toMatch(/check\(s\) failed: nothing was created\n$/);
    expect(run.stderr).toBe('');
  });

  it('a login without REPLICATION: ✗ with the ALTER ROLE, exit 1', async () => {
    // the monolith's own login owns the tables but has no REPLICATION attribute
    const run = await preflight({
      MONOLITH_DATABASE_URL: endpoints.postgres.monolithUrl,
      CDC_SLOT_NAME: 'preflight_probe',
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      [
        '\u2717 replication-login: login monolith lacks the REPLICATION attribute',
        '    fix as a superuser (no restart): ALTER ROLE "monolith" WITH REPLICATION;',
        // a logical replication connection matches the database's pg_hba.conf line, not the replication keyword
        "    note: pg_hba.conf must also let it in: host smart_home monolith <Kafka Connect's address> scram-sha-256 " +
          '(a logical replication connection matches the line of its database, not the "replication" keyword, ' +
          'which is for physical replication; reload, no restart)',
      ].join('\n'),
    );
    // the replication connection is not judged while the login cannot replicate (one ✗ for one cause)
    expect(run.stdout).not.toContain('replication-connection');
  });

  it('the test stack\u2019s monolith database: every check ✓, exit 0', async () => {
    // a slot name of its own: the stack's connector streams from warmhouse_monolith, and an active slot is a ✗
    const run = await preflight({
      MONOLITH_DATABASE_URL: endpoints.postgres.monolithUrl,
      DEBEZIUM_DATABASE_URL: stackUrl(debezium.user, debezium.password),
      CDC_SLOT_NAME: 'preflight_probe',
    });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).not.toContain('\u2717');
    expect(run.stdout).toContain('\u2713 wal_level: wal_level = logical');
    expect(run.stdout).toContain('\u2713 replication-login: login debezium has the REPLICATION attribute');
    expect(run.stdout).toContain(
      '\u2713 replication-connection: login debezium opened a logical replication connection to smart_home (IDENTIFY_SYSTEM)',
    );
    expect(run.stdout).toContain('\u2713 publication: publication warmhouse_monolith_pub present');
  });

  it('the stack\u2019s own slot, streaming: ✗ naming the active slot', async () => {
    const run = await preflight({
      MONOLITH_DATABASE_URL: endpoints.postgres.monolithUrl,
      DEBEZIUM_DATABASE_URL: stackUrl(debezium.user, debezium.password),
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^\u2717 slot: slot warmhouse_monolith is active \(pid \d+\)/m);
    // on a Helm upgrade the release's own connector streams from it: --allow-active-slot lets it pass
    const upgrade = await preflight(
      {
        MONOLITH_DATABASE_URL: endpoints.postgres.monolithUrl,
        DEBEZIUM_DATABASE_URL: stackUrl(debezium.user, debezium.password),
      },
      ['--allow-active-slot'],
    );
    expect(upgrade.stdout).toMatch(
      /^\u2713 slot: slot warmhouse_monolith is active \(pid \d+\), taken for the running/m,
    );
    expect(upgrade.code).toBe(0);
  });

  it.each<[string, Record<string, string>, number, RegExp]>([
    [
      'a wrong password',
      { MONOLITH_DATABASE_URL: 'WRONG' },
      3,
      /^cdc:preflight: \u2717 MONOLITH_DATABASE_URL: PostgreSQL at 127\.0\.0\.1:\d+ \(database smart_home, user monolith\) refused the login: .*\n$/,
    ],
    [
      'a missing database',
      { MONOLITH_DATABASE_URL: 'NODB' },
      3,
      /^cdc:preflight: \u2717 MONOLITH_DATABASE_URL: .* the database does not exist: .*\n$/,
    ],
    [
      'nothing listening',
      { MONOLITH_DATABASE_URL: 'postgres://m:x@127.0.0.1:1/db' },
      3,
      /^cdc:preflight: \u2717 MONOLITH_DATABASE_URL: PostgreSQL at 127\.0\.0\.1:1 \(database db, user m\) is not reachable: .*\n$/,
    ],
    [
      'a malformed URL',
      { MONOLITH_DATABASE_URL: 'smart_home@db' },
      2,
      /^cdc:preflight: MONOLITH_DATABASE_URL is not a valid URL \(got "smart_home@db"\)\n$/,
    ],
  ])('%s: one line naming it, no stack trace', async (_n, env, code, line) => {
    const resolved = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [
        k,
        v === 'WRONG'
          ? stackUrl('monolith', 'not-the-password')
          : v === 'NODB'
            ? stackUrl(monolith.user, monolith.password).replace('/smart_home', '/no_such_db')
            : v,
      ]),
    );
    const run = await preflight(resolved);
    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(line);
    expect(run.stdout).toBe('');
  });
});
