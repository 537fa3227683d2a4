import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '@warmhouse/shared';
import { assertPortsFree, startProcess, type ManagedProcess } from '../../../cdc/src/runtime/processes';
import { TEST_PORT_BASE } from '../../../test/stack-endpoints';
import type { ShadowCounters } from '../../src/shadow/shadower';
import { startProxyProcess, type ProxyProcess } from './fleet-support';

/**
 * A dead shadow target costs the client nothing and gets no copies (issue 22): the real proxy as a process, the
 * monolith and the shadow target as processes (bench/proxy/trivial-backend.ts: equal answers); under a steady
 * client load the target is SIGKILLed, then started again on its port. Needs no Kafka or PostgreSQL.
 */
const TOKEN = 'shadow-circuit-itest-token-0123456789';
const PORTS = { monolith: TEST_PORT_BASE + 320, target: TEST_PORT_BASE + 321 };
const BREAKER = { failures: 3, openMs: 1_000 };
const ROOT = path.resolve(__dirname, '..', '..', '..');

interface ShadowView {
  routes: Record<string, ShadowCounters>;
  circuits: Record<string, { state: string }>;
}

function backend(name: string, port: number, dir: string): ManagedProcess {
  return startProcess({
    name,
    command: process.execPath,
    args: ['--import', 'tsx', path.join(ROOT, 'bench', 'proxy', 'trivial-backend.ts')],
    cwd: ROOT,
    env: { ...process.env, PORT: String(port) },
    logFile: path.join(dir, `${name}.log`),
  });
}

async function answers(port: number): Promise<true | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`);
    await res.arrayBuffer();
    return res.ok ? true : undefined;
  } catch {
    return undefined;
  }
}

/** Client loops GETting through the proxy until stopped; every non-200 or error is a client failure. */
function clientLoad(proxyUrl: string, loops: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: loops });
  const tally = { ok: 0, failures: [] as string[] };
  let running = true;
  const once = (i: number) =>
    new Promise<void>((resolve) => {
      const req = http.get(`${proxyUrl}/api/heating/${i % 4}`, { agent }, (res) => {
        res.resume();
        res.once('end', () => {
          if (res.statusCode === 200) tally.ok++;
          else tally.failures.push(`status ${res.statusCode}`);
          resolve();
        });
      });
      req.once('error', (err) => {
        tally.failures.push(err.message);
        resolve();
      });
      req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    });
  const done = Promise.all(
    Array.from({ length: loops }, async (_, l) => {
      for (let i = l; running; i += loops) await once(i);
    }),
  );
  return {
    tally,
    stop: async () => {
      running = false;
      await done;
      agent.destroy();
    },
  };
}

describe('shadow target killed under load', () => {
  let dir: string;
  let monolith: ManagedProcess;
  let target: ManagedProcess | undefined;
  let proxy: ProxyProcess;

  beforeAll(async () => {
    await assertPortsFree({ 'shadow-circuit monolith': PORTS.monolith, 'shadow-circuit target': PORTS.target });
    dir = mkdtempSync(path.join(tmpdir(), 'shadow-circuit-'));
    monolith = backend('monolith', PORTS.monolith, dir);
    target = backend('shadow-target', PORTS.target, dir);
    await waitFor('backends answer', async () => (await answers(PORTS.monolith)) && answers(PORTS.target), {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    const routesFile = path.join(dir, 'routes.json');
    writeFileSync(
      routesFile,
      JSON.stringify({
        defaultTarget: 'monolith',
        upstreams: [
          { name: 'monolith', url: `http://127.0.0.1:${PORTS.monolith}` },
          { name: 'svc', url: `http://127.0.0.1:${PORTS.target}`, breaker: BREAKER },
        ],
        routes: [{ id: 'heating-get', methods: ['GET'], path: '/api/heating/:id', target: 'svc', mode: 'shadow' }],
      }),
    );
    proxy = await startProxyProcess({
      name: 'proxy',
      dir,
      env: { PROXY_ROUTES_FILE: routesFile, PROXY_ADMIN_TOKEN: TOKEN },
    });
  }, 90_000);

  afterAll(async () => {
    await proxy?.process.stop(5_000);
    await target?.stop(5_000);
    await monolith?.stop(5_000);
    rmSync(dir, { recursive: true, force: true });
  });

  const shadow = async (): Promise<{ counters: ShadowCounters; state: string }> => {
    const res = await fetch(`${proxy.adminUrl}/api/shadow`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const view = (await res.json()) as ShadowView;
    return { counters: view.routes['heating-get']!, state: view.circuits['svc']?.state ?? 'closed' };
  };

  it('stops copying while the target is dead (probes only), resumes when it is back, and no client fails', async () => {
    const load = clientLoad(proxy.proxyUrl, 8);
    try {
      await waitFor('comparisons flow', async () => ((await shadow()).counters.compared >= 50 ? true : undefined), {
        timeoutMs: 30_000,
        intervalMs: 100,
      });

      process.kill(-target!.pid, 'SIGKILL');
      await target!.exited;
      target = undefined;
      await waitFor('shadow circuit open', async () => ((await shadow()).state === 'open' ? true : undefined), {
        timeoutMs: 15_000,
        intervalMs: 50,
      });
      // while it stays dead: requests keep coming, copies do not — only a probe per openMs reaches the target
      const openAt = Date.now();
      const before = (await shadow()).counters;
      await waitFor(
        'copies refused by the open circuit',
        async () => ((await shadow()).counters.breakerOpen >= before.breakerOpen + 500 ? true : undefined),
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      const during = (await shadow()).counters;
      const probes = Math.floor((Date.now() - openAt) / BREAKER.openMs) + 1;
      expect(during.serviceErrors - before.serviceErrors).toBeLessThanOrEqual(probes);
      expect(during.compared).toBe(before.compared);

      target = backend('shadow-target', PORTS.target, dir);
      await waitFor('target answers again', () => answers(PORTS.target), { timeoutMs: 30_000, intervalMs: 100 });
      await waitFor(
        'circuit closed and comparisons resumed',
        async () => {
          const now = await shadow();
          return now.state === 'closed' && now.counters.compared >= during.compared + 50 ? true : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
    } finally {
      await load.stop();
    }
    expect(load.tally.failures).toEqual([]);
    expect(load.tally.ok).toBeGreaterThan(500);
  }, 120_000);
});
