import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '@warmhouse/shared';
import { stringify } from 'yaml';
import { assertPortsFree, startProcess, tail, type ManagedProcess } from '../../../cdc/src/runtime/processes';
import { TEST_PORT_BASE } from '../../../test/stack-endpoints';
import { readTestEndpoints } from '../../../test/stack-endpoints';
import { prepareControlDatabase } from '../../src/control/prepare';
import type { FleetWorkers } from '../../src/fleet/merge';

const TOKEN = 'workers-itest-token-0123456789';
const PORTS = { proxy: TEST_PORT_BASE + 310, admin: TEST_PORT_BASE + 311 };
const PROXY_URL = `http://127.0.0.1:${PORTS.proxy}`;
const ADMIN_URL = `http://127.0.0.1:${PORTS.admin}`;
const MAIN = path.resolve(__dirname, '..', '..', 'src', 'main.ts');

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** One GET on a fresh connection (the cluster hands out connections, not requests): its status, or the error. */
function getOnce(target: string): Promise<number | Error> {
  return new Promise((resolve) => {
    const req = http.get(`${PROXY_URL}${target}`, { agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', (err) => resolve(err));
    });
    req.once('error', (err) => resolve(err));
    // a request that hangs is a failure too (and must not stall the load loops)
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
  });
}

async function admin<T>(target: string): Promise<T> {
  const res = await fetch(`${ADMIN_URL}${target}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  if (!res.ok) throw new Error(`GET ${target} answered ${res.status}: ${await res.text()}`);
  return (target === '/metrics' ? await res.text() : await res.json()) as T;
}

/** Sum of `strangler_requests_total` over every series, and the worker labels seen. */
function requestsIn(metrics: string): { total: number; workers: Set<string>; unlabelled: number } {
  let total = 0;
  let unlabelled = 0;
  const workers = new Set<string>();
  for (const line of metrics.split('\n')) {
    const m = /^strangler_requests_total\{([^}]*)\} (\d+(?:\.\d+)?)$/.exec(line);
    if (!m) continue;
    total += Number(m[2]);
    const w = /worker="(\d+)"/.exec(m[1]!);
    if (w) workers.add(w[1]!);
    else unlabelled++;
  }
  return { total, workers, unlabelled };
}

const readyWorkers = (f: FleetWorkers) => f.workers.filter((w) => w.state === 'ready' && w.answered);

/**
 * PROXY_WORKERS=2: the real proxy (main.ts, as `npm start` runs it) as a child process in front of a trivial backend.
 * Both workers serve clients on the one port, /metrics counts every request once, a worker killed with SIGKILL is
 * replaced while clients keep being answered, and SIGTERM to the primary stops every process.
 */
describe('proxy worker processes (PROXY_WORKERS=2)', () => {
  let dir: string;
  let backend: http.Server;
  let backendCount = 0;
  let proxy: ManagedProcess | undefined;
  const pids = new Set<number>();

  beforeAll(async () => {
    await assertPortsFree(PORTS);
    dir = mkdtempSync(path.join(tmpdir(), 'strangler-workers-'));
    backend = http.createServer((req, res) => {
      req.resume();
      backendCount++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const routesFile = path.join(dir, 'routes.yaml');
    writeFileSync(
      routesFile,
      stringify({
        defaultTarget: 'backend',
        upstreams: [{ name: 'backend', url: `http://127.0.0.1:${(backend.address() as AddressInfo).port}` }],
        routes: [{ id: 'heating-get', methods: ['GET'], path: '/api/heating/:id', target: 'backend' }],
      }),
    );
    // several processes share one route table through the control store (PROXY_WORKERS > 1 requires it)
    const controlUrl = await prepareControlDatabase(
      readTestEndpoints().postgres.superuserUrl,
      { user: 'strangler', password: 'strangler-test' },
      { database: 'strangler_workers_test' },
    );
    proxy = startProcess({
      name: 'strangler-proxy-workers',
      command: process.execPath,
      args: ['--require', 'tsx/cjs', MAIN],
      logFile: path.join(dir, 'proxy.log'),
      env: {
        ...process.env,
        PROXY_WORKERS: '2',
        PROXY_HOST: '127.0.0.1',
        PROXY_PORT: String(PORTS.proxy),
        PROXY_ADMIN_PORT: String(PORTS.admin),
        PROXY_ADMIN_TOKEN: TOKEN,
        PROXY_ROUTES_FILE: routesFile,
        PROXY_WATCH_ROUTES_FILE: 'false',
        PROXY_STATE_DIR: path.join(dir, 'state'),
        PROXY_CONTROL_DATABASE_URL: controlUrl,
        LOG_LEVEL: 'info',
      },
    });
    pids.add(proxy.pid);
    let exitCode: number | null | undefined;
    void proxy.exited.then((code) => (exitCode = code));
    const started = await waitFor(
      'two ready workers',
      async () => {
        if (exitCode !== undefined) return 'exited' as const;
        const fleet = await admin<FleetWorkers>('/api/fleet/workers');
        return readyWorkers(fleet).length === 2 ? ('ready' as const) : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    if (started === 'exited') throw new Error(`the proxy exited with code ${exitCode}:\n${tail(proxy.logFile)}`);
  });

  afterAll(async () => {
    // by pid: the primary's process group (its workers are in it), then any worker pid seen, if still there
    await proxy?.stop(15_000);
    for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await new Promise<void>((resolve) => {
      backend?.close(() => resolve());
      backend?.closeAllConnections();
    });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves clients from both workers and counts every request once in /metrics', async () => {
    const fleet = await admin<FleetWorkers>('/api/fleet/workers');
    expect(fleet.expected).toBe(2);
    expect(fleet.primaryPid).toBe(proxy!.pid);
    for (const w of fleet.workers) pids.add(w.pid!);
    expect(new Set(fleet.workers.map((w) => w.pid)).size).toBe(2);

    const sent = 200;
    const statuses: Array<number | Error> = [];
    for (let i = 0; i < sent; i += 10) {
      statuses.push(...(await Promise.all(Array.from({ length: 10 }, (_, k) => getOnce(`/api/heating/${i + k}`)))));
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(backendCount).toBe(sent);

    const after = await admin<FleetWorkers>('/api/fleet/workers');
    const served = after.workers.map((w) => w.requests ?? 0);
    // both worker processes answered clients, and between them exactly the requests sent
    expect(served.every((n) => n > 0)).toBe(true);
    expect(served.reduce((a, b) => a + b, 0)).toBe(sent);

    const metrics = requestsIn(await admin<string>('/metrics'));
    expect(metrics).toEqual({ total: sent, workers: new Set(['0', '1']), unlabelled: 0 });
    // the same whichever worker the admin connection reaches: ask again on fresh connections
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${ADMIN_URL}/metrics`, {
        headers: { authorization: `Bearer ${TOKEN}`, connection: 'close' },
      });
      expect(requestsIn(await res.text()).total).toBe(sent);
    }
  });

  it('replaces a worker killed with SIGKILL while clients keep being served', async () => {
    const before = await admin<FleetWorkers>('/api/fleet/workers');
    const victim = before.workers.find((w) => w.slot === 0)!;
    const survivor = before.workers.find((w) => w.slot === 1)!;

    // clients keep sending (one request at a time, each on a fresh connection) through the kill and the restart
    let running = true;
    let killedAt = -1;
    const outcomes: Array<number | Error> = [];
    const load = (async () => {
      while (running) outcomes.push(await getOnce('/api/heating/1'));
    })();
    const summary = () =>
      `${outcomes.length} requests, failures: ${JSON.stringify(outcomes.filter((o) => o !== 200).map(String))}\n${tail(proxy!.logFile, 15)}`;
    await waitFor('some load before the kill', () => (outcomes.length >= 20 ? true : undefined), {
      intervalMs: 50,
    }).catch((err: Error) => {
      throw new Error(`${err.message}; ${summary()}`);
    });
    killedAt = outcomes.length;
    process.kill(victim.pid!, 'SIGKILL');

    const replaced = await waitFor(
      'slot 0 replaced by a new ready worker',
      async () => {
        const f = await admin<FleetWorkers>('/api/fleet/workers');
        const w = f.workers.find((x) => x.slot === 0);
        return w && w.state === 'ready' && w.answered && w.pid !== victim.pid ? f : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    // and it serves: more load after the replacement is ready
    const readyAt = outcomes.length;
    await waitFor('load after the replacement', () => (outcomes.length >= readyAt + 20 ? true : undefined), {
      intervalMs: 50,
    }).catch((err: Error) => {
      throw new Error(`${err.message}; ${summary()}`);
    });
    running = false;
    await load;

    const slot0 = replaced.workers.find((w) => w.slot === 0)!;
    pids.add(slot0.pid!);
    expect(isAlive(victim.pid!)).toBe(false);
    expect(slot0.restarts).toBe(1);
    expect(slot0.lastExit).toEqual(expect.objectContaining({ signal: 'SIGKILL' }));
    expect(replaced.workers.find((w) => w.slot === 1)!.pid).toBe(survivor.pid);

    const afterKill = outcomes.slice(killedAt);
    const failures = afterKill.filter((o) => o !== 200);
    // at most the one request that was on the killed worker's connection fails; everything after is answered
    expect({ failures: failures.length, summary: failures.length <= 1 ? '' : summary() }).toEqual({
      failures: expect.any(Number),
      summary: '',
    });
    expect(failures.length).toBeLessThanOrEqual(1);
    expect(afterKill.length - failures.length).toBeGreaterThanOrEqual(20);

    const metrics = await admin<string>('/metrics');
    expect(metrics).toContain('strangler_worker_restarts_total{worker="0"} 1');
    expect(metrics).toContain('strangler_workers{state="answered"} 2');
    expect(requestsIn(metrics).workers).toEqual(new Set(['0', '1']));
  });

  it('stops every process when the primary gets SIGTERM', async () => {
    const fleet = await admin<FleetWorkers>('/api/fleet/workers');
    for (const w of fleet.workers) pids.add(w.pid!);
    expect(pids.size).toBe(4); // primary, two first workers, the replacement
    process.kill(proxy!.pid, 'SIGTERM'); // the primary only: it forwards the signal to its workers
    await waitFor('every proxy process to exit', () => ([...pids].some(isAlive) ? undefined : true), {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    expect(await proxy!.exited).toBe(0);
    const log = tail(proxy!.logFile, 400);
    expect(log).toContain('"event":"workers_stopped"');
    expect(log.match(/"event":"shutdown_finished"/g)?.length).toBe(3); // two workers and the primary
  });
});
