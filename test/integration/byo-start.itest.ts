import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Pool } from 'pg';
import { databaseUrl, ensureDatabase, runMigrations, waitFor } from '@warmhouse/shared';
import { loadContractDocument, runContract, withoutMatrixParameters } from '@warmhouse/monolith-contract';
import { seedIfEmpty } from '../../monolith-standin/src/seed';
import { portsFor, REPO_ROOT, STATE_ROOT } from '../../scripts/stack/layout';
import { readTestEndpoints, TEST_PORT_BASE } from '../stack-endpoints';
import { runCli } from '../support/run-cli';

/**
 * Issue 17, bring your own monolith: a second database of the test stack's server plays the user's monolith
 * database and a stand-in process on its own port the user's monolith; `npm start` in BYO mode (its own port base)
 * starts no stand-in and no simulator, fronts that monolith, captures that database; Ctrl-C stops only what it
 * started; `cdc:teardown` leaves no slot, publication or heartbeat table behind.
 */
const DB = 'byo_monolith';
const SLOT = 'byo_monolith';
const BYO_BASE = TEST_PORT_BASE + 200;
const MONOLITH_PORT = TEST_PORT_BASE + 180;
const owner = { user: 'byo_monolith_owner', password: 'byo-owner-pw' };
const debezium = { user: 'byo_monolith_dbz', password: 'byo-dbz-pw' };
const TOKEN = 'byo-test-admin-token-0123';
/** The six heating routes of proxy/routes.yaml, with the requests each claims. */
const HEATING_ROUTES: Array<[id: string, methods: string[], path: RegExp]> = [
  ['heating-get', ['GET', 'HEAD'], /^\/api\/heating\/[^/]+$/],
  ['heating-update', ['PUT'], /^\/api\/heating\/[^/]+$/],
  ['heating-turn-on', ['POST'], /^\/api\/heating\/[^/]+\/turn-on$/],
  ['heating-turn-off', ['POST'], /^\/api\/heating\/[^/]+\/turn-off$/],
  ['heating-set-temperature', ['POST'], /^\/api\/heating\/[^/]+\/set-temperature$/],
  ['heating-current-temperature', ['GET', 'HEAD'], /^\/api\/heating\/[^/]+\/current-temperature$/],
];

function startNode(entry: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, entry)], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let exit: number | undefined;
  child.stdout!.on('data', (d: Buffer) => (out += String(d)));
  child.stderr!.on('data', (d: Buffer) => (out += String(d)));
  child.once('exit', (code) => (exit = code ?? 128));
  return { child, out: () => out, exit: () => exit };
}

async function query<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('npm start with your own monolith (BYO)', () => {
  const endpoints = readTestEndpoints();
  const superuser = endpoints.postgres.superuserUrl;
  const ownerUrl = databaseUrl(superuser, DB, owner);
  const debeziumUrl = databaseUrl(superuser, DB, debezium);
  const ports = portsFor(BYO_BASE);
  const proxy = `http://127.0.0.1:${ports.proxy}`;
  const admin = `http://127.0.0.1:${ports.proxyAdmin}`;
  const monolith = `http://127.0.0.1:${MONOLITH_PORT}`;
  let standin: ReturnType<typeof startNode> | undefined;
  let stack: ReturnType<typeof startNode> | undefined;

  const stopChild = async (p: { child: ChildProcess; exit: () => number | undefined } | undefined) => {
    if (!p || p.exit() !== undefined) return;
    p.child.kill('SIGINT');
    await waitFor('a child to exit', () => p.exit(), { timeoutMs: 60_000 });
  };

  beforeAll(async () => {
    // compiled once, now: it blocks this process for seconds, which would let the proxy drop kept-alive sockets
    // under a later request (`other side closed`)
    await loadContractDocument();
    await ensureDatabase(superuser, DB, owner);
    await query(
      superuser,
      `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${debezium.user}') THEN
      CREATE ROLE ${debezium.user} LOGIN REPLICATION PASSWORD '${debezium.password}'; END IF; END $$`,
    );
    await query(superuser, `GRANT CONNECT ON DATABASE ${DB} TO ${debezium.user}`);
    await runMigrations('monolith', ownerUrl);
    const pool = new Pool({ connectionString: ownerUrl });
    await seedIfEmpty(pool).finally(() => pool.end());
    // the DBA's part, as the preflight prints it: grants and REPLICA IDENTITY FULL
    const fixed = await runCli('cdc/src/preflight-cli.ts', ['--apply'], {
      MONOLITH_DATABASE_URL: ownerUrl,
      DEBEZIUM_DATABASE_URL: debeziumUrl,
      CDC_SLOT_NAME: SLOT,
    });
    expect(fixed.stdout).not.toContain('\u2717');
    standin = startNode('monolith-standin/src/main.ts', {
      MONOLITH_PORT: String(MONOLITH_PORT),
      MONOLITH_DATABASE_URL: ownerUrl,
    });
    await waitFor(
      'the user\u2019s monolith',
      async () => ((await fetch(`${monolith}/api/heating/1`)).ok ? true : undefined),
      {
        timeoutMs: 60_000,
      },
    );
  }, 120_000);

  afterAll(async () => {
    await stopChild(stack);
    await stopChild(standin);
    await query(
      superuser,
      'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active',
      [SLOT],
    );
    await query(superuser, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await query(superuser, `DROP ROLE IF EXISTS ${debezium.user}`);
    await query(superuser, `DROP ROLE IF EXISTS ${owner.user}`);
  }, 120_000);

  it('fronts the user\u2019s monolith, captures its database both ways, and teardown leaves nothing', async () => {
    const stateDir = path.join(STATE_ROOT, `byo-${BYO_BASE}`);
    rmSync(stateDir, { recursive: true, force: true }); // a fresh Kafka: no connector or offsets of an earlier run
    stack = startNode('scripts/stack/start.ts', {
      STACK_PORT_BASE: String(BYO_BASE),
      STACK_STATE_DIR: stateDir,
      MONOLITH_URL: monolith,
      MONOLITH_DATABASE_URL: ownerUrl,
      DEBEZIUM_DATABASE_URL: debeziumUrl,
      CDC_SLOT_NAME: SLOT,
      PROXY_ADMIN_TOKEN: TOKEN,
      PROXY_WORKERS: '1',
    });
    await waitFor(
      'the BYO stack to be ready',
      () => (stack!.out().includes('Press Ctrl-C') ? true : stack!.exit() !== undefined ? false : undefined),
      {
        timeoutMs: 420_000,
        intervalMs: 500,
      },
    ).then((ok) => {
      if (!ok) throw new Error(`npm start exited:\n${stack!.out().slice(-4000)}`);
    });
    expect(stack.out()).toContain('no stand-in, no field simulator');
    expect(stack.out()).not.toContain('monolith-standin');

    // a write through the proxy (heating-update still on the monolith) reaches the user's database
    const put = await fetch(`${proxy}/api/heating/1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ on: true, targetTemperature: 23.5 }),
    });
    expect(put.status).toBe(200);
    expect(
      await query<{ t: string }>(ownerUrl, 'SELECT target_temperature::text AS t FROM heating_systems WHERE id = 1'),
    ).toEqual([{ t: '23.5' }]);

    // every heating read moved to device management; a write made directly in the user's database shows through
    const move = await fetch(`${admin}/api/routes/heating-get/target`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ target: 'device-management', reason: 'byo test' }),
    });
    expect(move.status).toBeLessThan(300);
    await query(ownerUrl, 'UPDATE heating_systems SET target_temperature = 19.5 WHERE id = 1');
    // device management took it from the user's database through Debezium, not through the monolith
    await waitFor(
      'the direct write in device management',
      async () => {
        const res = await fetch(`http://127.0.0.1:${ports.deviceManagement}/api/heating/1`);
        return ((await res.json()) as { targetTemperature: number }).targetTemperature === 19.5 ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
    await waitFor(
      'the direct write through the proxy',
      async () => {
        const body = (await (await fetch(`${proxy}/api/heating/1`)).json()) as { targetTemperature: number };
        return body.targetTemperature === 19.5 ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );

    // every heating route moved to device management: the monolith contract passes through the proxy, and every
    // request a heating route claims is served by device management (or, for a read, by the monolith while the
    // proxy's CDC-aware read falls back on lag, which it says in X-Strangler-Cdc)
    for (const [route] of HEATING_ROUTES.slice(1)) {
      const moved = await fetch(`${admin}/api/routes/${route}/target`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ target: 'device-management', reason: 'byo test: every heating route' }),
      });
      expect({ route, moved: moved.status < 300 }).toEqual({ route, moved: true });
    }
    const served: Array<{ request: string; upstream: string | null; cdc: string | null }> = [];
    const recording: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const method = init?.method ?? 'GET';
      const pathname = withoutMatrixParameters(new URL(String(input)).pathname);
      if (HEATING_ROUTES.some(([, methods, pattern]) => methods.includes(method) && pattern.test(pathname)))
        served.push({
          request: `${method} ${pathname}`,
          upstream: res.headers.get('x-strangler-upstream'),
          cdc: res.headers.get('x-strangler-cdc'),
        });
      return res;
    };
    const outcomes = await runContract({ baseUrl: proxy, fetch: recording });
    expect(outcomes.filter((o) => !o.passed).map((o) => `${o.name}: ${o.error?.message}`)).toEqual([]);
    const elsewhere = served.filter((s) => s.upstream !== 'device-management');
    expect(elsewhere.filter((s) => !(s.upstream === 'monolith' && s.cdc !== null))).toEqual([]);
    process.stdout.write(
      `BYO contract through the proxy: ${served.length} heating-route requests, ` +
        `${elsewhere.length} CDC fallbacks to the monolith (load ${os.loadavg()[0]!.toFixed(2)})\n`,
    );
    expect(served.length - elsewhere.length).toBeGreaterThan(served.length / 2);
    // a write through the proxy, now answered by device management, reaches the user's database (write-back)
    const dmPut = await fetch(`${proxy}/api/heating/1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ on: false, targetTemperature: 21.25 }),
    });
    expect({ status: dmPut.status, upstream: dmPut.headers.get('x-strangler-upstream') }).toEqual({
      status: 200,
      upstream: 'device-management',
    });
    await waitFor(
      'device management\u2019s write in the user\u2019s database',
      async () => {
        const rows = await query<{ on: boolean; t: string }>(
          ownerUrl,
          'SELECT is_on AS on, target_temperature::text AS t FROM heating_systems WHERE id = 1',
        );
        return rows[0]?.t === '21.25' && rows[0].on === false ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );

    const teardown = await runCli('cdc/src/teardown-cli.ts', [], {
      MONOLITH_DATABASE_URL: ownerUrl,
      DEBEZIUM_DATABASE_URL: debeziumUrl,
      CDC_SLOT_NAME: SLOT,
      CONNECT_URL: `http://127.0.0.1:${ports.connect}`,
    });
    expect(teardown.stdout).toContain('\u2713 connector monolith-heating: removed');
    expect(teardown.stdout).toContain(`\u2713 slot ${SLOT}: removed`);
    expect(teardown.code).toBe(0);
    expect(await query(superuser, 'SELECT slot_name FROM pg_replication_slots WHERE slot_name = $1', [SLOT])).toEqual(
      [],
    );
    expect(await query(ownerUrl, 'SELECT pubname FROM pg_publication')).toEqual([]);
    expect(await query(ownerUrl, `SELECT to_regclass('public.cdc_heartbeat') AS t`)).toEqual([{ t: null }]);

    // Ctrl-C stops only what the stack started: the user's monolith still answers
    await stopChild(stack);
    expect((await fetch(`${monolith}/api/heating/1`)).status).toBe(200);
  }, 600_000);
});
