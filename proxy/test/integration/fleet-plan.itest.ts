import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '@warmhouse/shared';
import { Client } from 'pg';
import { startStandIn, type StandInUnderTest } from '../../../monolith-standin/test/standin-harness';
import { readTestEndpoints } from '../../../test/stack-endpoints';
import { prepareControlDatabase } from '../../src/control/prepare';
import type { AuditEntry } from '../../src/table/audit';
import type { RouteSpec } from '../../src/table/schema';
import { startControlledService } from './controlled-service';
import {
  FAST_PLAN_FLEET_ENV,
  HEATING_GET_PLAN_ROUTE,
  startProxyProcess,
  writeFleetRoutes,
  type ProxyProcess,
} from './fleet-support';

const TOKEN = 'fleet-plan-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

const ROUTE = HEATING_GET_PLAN_ROUTE;

/**
 * Route plans run by the fleet: three real proxy processes, one plan runner at a time (the lease), its decisions
 * made on every process's evidence; the runner killed with SIGKILL mid-plan is replaced and the plan goes on
 * without a step repeated or skipped; a failing service rolls the whole fleet back.
 */
describe('route plans run by the proxy fleet', () => {
  let standIn: StandInUnderTest;
  let service: Awaited<ReturnType<typeof startControlledService>>;
  let dir: string;
  let controlUrl: string;
  const procs: ProxyProcess[] = [];
  let live: ProxyProcess[] = [];

  const admin = async <T>(p: ProxyProcess, method: string, target: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${p.adminUrl}${target}`, {
      method,
      headers: { ...auth, 'x-strangler-reason': 'fleet plan test' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${target} on ${p.name} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as T;
  };
  const route = async () => (await admin<{ route: RouteSpec }>(live[0]!, 'GET', '/api/routes/heating-get')).route;
  let key = 0;
  /** Client traffic spread over every live process, each request with a fresh canary key. */
  const traffic = async (n: number): Promise<number[]> => {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) {
      const p = live[i % live.length]!;
      const res = await fetch(`${p.proxyUrl}/api/heating/${(i % 4) + 1}`, { headers: { 'x-house-id': `h-${key++}` } });
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    return statuses;
  };
  const driveUntil = (what: string, until: (r: RouteSpec) => boolean) =>
    waitFor(
      what,
      async () => {
        await traffic(30);
        const r = await route();
        return until(r) ? r : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 20 },
    );
  const planSteps = async () =>
    (await admin<{ entries: AuditEntry[] }>(live[0]!, 'GET', '/api/audit?route=heating-get&limit=200')).entries
      .filter((e) => e.actor === 'plan' && e.action === 'route.updated')
      .map((e) => e.reason.split(':')[1]!.trim());
  const runner = async () =>
    (
      await admin<{ planRunner: { holder: string | null; epoch: number; held: boolean } }>(
        live[0]!,
        'GET',
        '/api/fleet',
      )
    ).planRunner;
  const processOf = (holder: string | null) => procs.find((p) => holder?.split(':')[1] === String(p.process.pid));

  beforeAll(async () => {
    const endpoints = readTestEndpoints();
    standIn = await startStandIn(endpoints.postgres.superuserUrl, 'proxy_plan_fleet');
    service = await startControlledService(standIn.baseUrl);
    controlUrl = await prepareControlDatabase(
      endpoints.postgres.superuserUrl,
      { user: 'strangler', password: 'strangler-test' },
      { database: 'strangler_plan_test' },
    );
    dir = mkdtempSync(path.join(tmpdir(), 'strangler-fleet-plan-'));
    const env = {
      ...FAST_PLAN_FLEET_ENV,
      PROXY_ADMIN_TOKEN: TOKEN,
      PROXY_ROUTES_FILE: writeFleetRoutes(dir, [ROUTE]),
      PROXY_CONTROL_DATABASE_URL: controlUrl,
      PROXY_STATS_WINDOW_SECONDS: '5',
      MONOLITH_URL: standIn.baseUrl,
      DEVICE_MANAGEMENT_URL: service.url,
    };
    for (const name of ['p1', 'p2', 'p3']) procs.push(await startProxyProcess({ name, dir, env }));
    live = [...procs];
  }, 120_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.process.stop(10_000)));
    await service?.close();
    await standIn?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('one runner advances the plan on the evidence of all three; killed mid-plan, another goes on from the stored step', async () => {
    await driveUntil('the first canary step', (r) => r.mode === 'canary');
    expect(await planSteps()).toEqual(['monolith → shadow', 'shadow → canary 10%']);
    const first = await runner();
    expect(first.held).toBe(true);
    const leader = processOf(first.holder);
    expect(leader).toBeDefined();

    // the shadow gate was passed on the comparisons of every process, each of which served part of the traffic
    const db = new Client({ connectionString: controlUrl });
    await db.connect();
    const { rows } = await db
      .query<{ process_id: string; compared: number }>(
        `SELECT process_id, (evidence->'full'->'shadow'->>'compared')::int AS compared
         FROM route_evidence WHERE route_id = 'heating-get'`,
      )
      .finally(() => db.end());
    expect(rows.length).toBe(3);
    const shadowEntry = (
      await admin<{ entries: AuditEntry[] }>(live[0]!, 'GET', '/api/audit?route=heating-get')
    ).entries.find((e) => e.reason.startsWith('plan advance: shadow → canary'))!;
    const compared = (shadowEntry.evidence as { shadow: { compared: number } }).shadow.compared;
    expect(compared).toBeGreaterThanOrEqual(30);

    // SIGKILL the runner: another process takes the lease (a new epoch) and continues
    const killedAt = performance.now();
    process.kill(leader!.process.pid, 'SIGKILL');
    await leader!.process.exited;
    live = procs.filter((p) => p !== leader);
    const next = await waitFor(
      'another runner',
      async () => {
        const r = await runner();
        return r.held && r.holder !== first.holder ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    const takeoverMs = performance.now() - killedAt;
    expect(next.epoch).toBeGreaterThan(first.epoch);
    const done = await driveUntil('the plan to finish', (r) => r.plan?.status === 'done');
    expect(done).toMatchObject({ target: 'device-management', mode: 'forward' });
    expect(await planSteps()).toEqual([
      'monolith → shadow',
      'shadow → canary 10%',
      'canary 10% → canary 50%',
      'canary 50% → service',
    ]);
    for (const p of live) {
      const res = await fetch(`${p.proxyUrl}/api/heating/2`, { headers: { 'x-house-id': 'any' } });
      await res.arrayBuffer();
      expect(res.headers.get('x-strangler-upstream')).toBe('device-management');
    }
    process.stdout.write(
      `fleet plan: runner ${leader!.name} killed, ${processOf(next.holder)?.name} took over in ${takeoverMs.toFixed(0)} ms ` +
        `(lease 2000 ms; load average ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')})\n`,
    );
  }, 240_000);

  it('rolls the whole fleet back when the service fails during the canary', async () => {
    await admin(live[0]!, 'PUT', '/api/routes/heating-get', ROUTE);
    await driveUntil('the first canary step again', (r) => r.mode === 'canary');
    service.state.failing = true;
    const back = await driveUntil('the rollback', (r) => r.plan?.status === 'rolled-back');
    expect(back).toMatchObject({ target: 'monolith', mode: 'forward' });
    const statuses = await traffic(30);
    expect(statuses.every((s) => s === 200)).toBe(true);
    for (const p of live) {
      const r = await admin<{ route: RouteSpec }>(p, 'GET', '/api/routes/heating-get');
      expect(r.route).toMatchObject({ target: 'monolith', mode: 'forward', plan: { status: 'rolled-back' } });
    }
  }, 240_000);
});
