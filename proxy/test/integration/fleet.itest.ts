import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '@warmhouse/shared';
import { Client } from 'pg';
import { stringify } from 'yaml';
import { readTestEndpoints } from '../../../test/stack-endpoints';
import { prepareControlDatabase } from '../../src/control/prepare';
import { percentile, startNamedUpstream, startProxyProcess, TcpRelay, type ProxyProcess } from './fleet-support';

const TOKEN = 'fleet-test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

function routesTable(extraRoute?: string) {
  return {
    defaultTarget: 'monolith',
    upstreams: [
      { name: 'monolith', url: '${MONOLITH_URL}' },
      { name: 'device-management', url: '${DEVICE_MANAGEMENT_URL}' },
    ],
    routes: [
      { id: 'get', methods: ['GET'], path: '/api/heating/:id', target: 'monolith' },
      ...(extraRoute ? [{ id: extraRoute, methods: ['GET'], path: `/api/${extraRoute}`, target: 'monolith' }] : []),
    ],
  };
}

/**
 * The proxy as a fleet: several real proxy processes on one control store (PostgreSQL of the test stack, reached
 * through a relay the test can cut). A change through one process is served by every other; the audit log is one;
 * concurrent changes are ordered by version; the store going away costs clients nothing.
 */
describe('proxy fleet on one control store', () => {
  let dir: string;
  let routesFile: string;
  let relay: TcpRelay;
  let controlUrl: string;
  let upstreams: Server[] = [];
  let env: Record<string, string>;
  const procs: ProxyProcess[] = [];

  const admin = async (p: ProxyProcess, method: string, target: string, body?: unknown, headers = {}) => {
    const res = await fetch(`${p.adminUrl}${target}`, {
      method,
      headers: { ...auth, ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- admin answers are checked field by field
    return { status: res.status, etag: res.headers.get('etag'), body: (await res.json()) as Record<string, any> };
  };
  const servedBy = async (p: ProxyProcess): Promise<string | null> => {
    const res = await fetch(`${p.proxyUrl}/api/heating/1`);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${p.name} answered ${res.status}`);
    return res.headers.get('x-strangler-upstream');
  };
  const start = async (name: string, extra: Record<string, string> = {}) => {
    const p = await startProxyProcess({ name, dir, env: { ...env, ...extra } });
    procs.push(p);
    return p;
  };
  const flip = (p: ProxyProcess, target: string, reason = 'fleet test') =>
    admin(p, 'PUT', '/api/routes/get/target', { target, reason });

  beforeAll(async () => {
    const endpoints = readTestEndpoints();
    dir = mkdtempSync(path.join(tmpdir(), 'strangler-fleet-'));
    const direct = await prepareControlDatabase(
      endpoints.postgres.superuserUrl,
      { user: 'strangler', password: 'strangler-test' },
      { database: 'strangler_fleet_test' },
    );
    relay = new TcpRelay(endpoints.postgres.host, endpoints.postgres.port);
    const relayUrl = new URL(direct);
    relayUrl.port = String(await relay.start());
    controlUrl = direct;
    const monolith = await startNamedUpstream('monolith');
    const service = await startNamedUpstream('device-management');
    upstreams = [monolith.server, service.server];
    routesFile = path.join(dir, 'routes.yaml');
    writeFileSync(routesFile, stringify(routesTable()));
    env = {
      PROXY_ADMIN_TOKEN: TOKEN,
      PROXY_ROUTES_FILE: routesFile,
      PROXY_WATCH_ROUTES_FILE: 'false',
      PROXY_CONTROL_DATABASE_URL: relayUrl.toString(),
      PROXY_CONTROL_POLL_MS: '1000',
      PROXY_CONTROL_TIMEOUT_MS: '1000',
      PROXY_FLEET_HEARTBEAT_MS: '500',
      MONOLITH_URL: monolith.url,
      DEVICE_MANAGEMENT_URL: service.url,
    };
    // three processes starting together on an empty store: one of them loads the routes file, once
    await Promise.all(['p1', 'p2', 'p3'].map((n) => start(n)));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.process.stop(10_000)));
    await relay?.cut();
    for (const s of upstreams) s.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('starts three processes on one version, loaded once, and lists them all as converged', async () => {
    const versions = await Promise.all(procs.map(async (p) => (await admin(p, 'GET', '/api/routes')).body.version));
    expect(new Set(versions).size).toBe(1);
    const audit = (await admin(procs[0]!, 'GET', '/api/audit')).body.entries as Array<{ action: string }>;
    expect(audit.filter((e) => e.action === 'table.loaded')).toHaveLength(1);
    const fleet = await waitFor('fleet of 3', async () => {
      const f = (await admin(procs[2]!, 'GET', '/api/fleet')).body;
      return f.processes.length === 3 && f.converged ? f : undefined;
    });
    expect(fleet.storeVersion).toBe(versions[0]);
  });

  it('serves a flip made through one process on every other; the audit log is the same everywhere', async () => {
    const [p1, p2, p3] = procs as [ProxyProcess, ProxyProcess, ProxyProcess];
    const propagation: number[] = [];
    for (let i = 0; i < 100; i++) {
      const target = i % 2 === 0 ? 'device-management' : 'monolith';
      const res = await flip(p1, target, `flip ${i}`);
      expect(res.status).toBe(200);
      const answered = performance.now();
      for (const p of [p2, p3]) {
        await waitFor(`${p.name} serving ${target}`, async () => ((await servedBy(p)) === target ? true : undefined), {
          timeoutMs: 5_000,
          intervalMs: 1,
        });
        propagation.push(performance.now() - answered);
      }
    }
    process.stdout.write(
      `fleet flip propagation over ${propagation.length} (flip, process) pairs: p50 ${percentile(propagation, 50).toFixed(1)} ms, ` +
        `p99 ${percentile(propagation, 99).toFixed(1)} ms, max ${Math.max(...propagation).toFixed(1)} ms ` +
        `(load average ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')})\n`,
    );
    const audits = await Promise.all(
      procs.map(async (p) => (await admin(p, 'GET', '/api/audit?limit=500')).body.entries),
    );
    expect(audits[1]).toEqual(audits[0]);
    expect(audits[2]).toEqual(audits[0]);
    expect(audits[0].filter((e: { reason: string }) => e.reason.startsWith('flip '))).toHaveLength(100);
  }, 120_000);

  it('refuses a change based on a stale version with 409 naming the current one (If-Match)', async () => {
    const [p1, p2] = procs as [ProxyProcess, ProxyProcess];
    const seen = await admin(p1, 'GET', '/api/routes/get');
    const stale = Number(JSON.parse(seen.etag!));
    const other = seen.body.route.target === 'monolith' ? 'device-management' : 'monolith';
    const first = await flip(p1, other, 'moves first');
    expect({ status: first.status, version: first.body.version }).toEqual({ status: 200, version: stale + 1 });
    const late = await admin(
      p2,
      'PATCH',
      '/api/routes/get',
      { target: seen.body.route.target, reason: 'based on what I saw' },
      { 'if-match': `"${stale}"` },
    );
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({
      code: 'PROXY_ERR_VERSION_CONFLICT',
      status: 409,
      expectedVersion: stale,
      currentVersion: stale + 1,
    });
    const fresh = await admin(
      p2,
      'PATCH',
      '/api/routes/get',
      { target: seen.body.route.target, reason: 'based on the newest' },
      { 'if-match': `"${stale + 1}"` },
    );
    expect(fresh.status).toBe(200);
    expect(fresh.etag).toBe(`"${stale + 2}"`);
  });

  it('applies a routes-file change reloaded by every process at once as one version with one audit entry', async () => {
    const converged = await waitFor('the fleet to converge', async () => {
      const f = (await admin(procs[0]!, 'GET', '/api/fleet')).body;
      return f.converged ? f : undefined;
    });
    const before = converged.storeVersion as number;
    writeFileSync(routesFile, stringify(routesTable('status')));
    const answers = await Promise.all(procs.map((p) => admin(p, 'POST', '/api/table/reload')));
    for (const a of answers) expect(a.status).toBe(200);
    const after = (await admin(procs[0]!, 'GET', '/api/routes')).body;
    expect(after.version).toBe(before + 1);
    const created = (
      (await admin(procs[1]!, 'GET', '/api/audit')).body.entries as Array<Record<string, unknown>>
    ).filter((e) => e.action === 'route.created' && e.routeId === 'status');
    expect(created).toHaveLength(1);
  });

  it('refuses a corrupt stored version everywhere (audited once), keeps serving the last good, and moves on', async () => {
    const db = new Client({ connectionString: controlUrl });
    await db.connect();
    try {
      const { rows } = await db.query<{ v: string }>('SELECT max(version) AS v FROM table_versions');
      const head = Number(rows[0]!.v);
      const good = (await admin(procs[0]!, 'GET', '/api/routes')).body.routes;
      await db.query(
        `INSERT INTO table_versions (version, spec, actor, source, reason)
         VALUES ($1, '{"defaultTarget":"nowhere","upstreams":[],"routes":[]}', 'someone', 'admin-api', 'by hand')`,
        [head + 1],
      );
      await db.query(`SELECT pg_notify('strangler_table', $1)`, [String(head + 1)]);
      for (const p of procs) {
        const table = await waitFor(`${p.name} refusing ${head + 1}`, async () => {
          const t = (await admin(p, 'GET', '/api/table')).body;
          return t.lastRejected?.source === 'store' ? t : undefined;
        });
        expect(table.version).toBe(head);
        expect(table.routes).toEqual(good);
        expect(await servedBy(p)).toBe('monolith');
      }
      const refused = ((await admin(procs[0]!, 'GET', '/api/audit')).body.entries as Array<{ action: string }>).filter(
        (e) => e.action === 'table.refused',
      );
      expect(refused).toHaveLength(1);
      const next = await flip(procs[2]!, 'device-management', 'after the corrupt row');
      expect(next.status).toBe(200);
      expect(next.body.version).toBe(head + 2);
      for (const p of procs)
        await waitFor(`${p.name} past the corrupt row`, async () =>
          (await servedBy(p)) === 'device-management' ? true : undefined,
        );
    } finally {
      await db.end();
    }
  });

  it('starts a new process on the version in force', async () => {
    const p4 = await start('p4');
    const version = (await admin(procs[0]!, 'GET', '/api/routes')).body.version;
    expect((await admin(p4, 'GET', '/api/routes')).body.version).toBe(version);
    expect(await servedBy(p4)).toBe('device-management');
    await waitFor('fleet of 4 converged', async () => {
      const f = (await admin(p4, 'GET', '/api/fleet')).body;
      return f.processes.length === 4 && f.converged ? true : undefined;
    });
  });

  it('keeps serving with the store unreachable: 0 client errors, admin writes 503, catch-up after recovery', async () => {
    const live = [...procs];
    let stop = false;
    let sent = 0;
    const failures: string[] = [];
    const load = Promise.all(
      live.map(async (p) => {
        while (!stop) {
          sent++;
          try {
            const res = await fetch(`${p.proxyUrl}/api/heating/7`);
            await res.arrayBuffer();
            if (res.status !== 200) failures.push(`${p.name}: ${res.status}`);
          } catch (err) {
            failures.push(`${p.name}: ${(err as Error).message}`);
          }
        }
      }),
    );
    await relay.cut();
    const write = await flip(live[0]!, 'monolith', 'during the outage');
    expect(write.status).toBe(503);
    expect(write.body).toMatchObject({ code: 'PROXY_ERR_CONTROL_STORE_UNAVAILABLE', status: 503 });
    // a process starting now serves the routes file, and says so
    const late = await start('p5');
    const ready = (await fetch(`${late.adminUrl}/ready`).then((r) => r.json())) as Record<string, unknown>;
    expect(ready).toMatchObject({ ready: true, servingFrom: 'routes-file', controlStore: 'unreachable' });
    const metrics = await fetch(`${late.adminUrl}/metrics`, { headers: auth }).then((r) => r.text());
    expect(metrics).toMatch(/strangler_control_store\{state="serving_routes_file"\} 1/);
    await waitFor('load through the outage', () => (sent > 500 ? true : undefined), { timeoutMs: 30_000 });

    await relay.restore();
    const after = await waitFor(
      'admin write after recovery',
      async () => {
        const r = await flip(live[1]!, 'monolith', 'after the outage');
        return r.status === 200 ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    stop = true;
    await load;
    expect(failures).toEqual([]);
    for (const p of procs)
      await waitFor(`${p.name} caught up`, async () => {
        const routes = (await admin(p, 'GET', '/api/routes')).body;
        return routes.version === after.body.version && (await servedBy(p)) === 'monolith' ? true : undefined;
      });
    const lateReady = (await fetch(`${late.adminUrl}/ready`).then((r) => r.json())) as Record<string, unknown>;
    expect(lateReady).toMatchObject({ servingFrom: 'store', controlStore: 'reachable' });
    process.stdout.write(`fleet store outage: ${sent} requests during and around the outage, 0 failed\n`);
  }, 120_000);
});
