import { waitFor } from '@warmhouse/shared';
import { startStandIn, type StandInUnderTest } from '../../../monolith-standin/test/standin-harness';
import { readTestEndpoints } from '../../../test/stack-endpoints';
import type { AuditEntry } from '../../src/table/audit';
import type { RouteSpec } from '../../src/table/schema';
import { startTestStrangler, type TestStrangler } from '../../src/testing/strangler';
import { startControlledService } from './controlled-service';
import { HEATING_GET_PLAN_ROUTE } from './fleet-support';

const TOKEN = 'plan-itest-token-0123456789';

/**
 * Gated promotion and automatic rollback with the real proxy (its own plan runner ticking) in front of the real
 * monolith stand-in, with a test-controlled service whose failures the test switches on.
 */
describe('route plans through the strangler proxy', () => {
  let standIn: StandInUnderTest;
  let service: Awaited<ReturnType<typeof startControlledService>>;
  let strangler: TestStrangler;

  beforeAll(async () => {
    standIn = await startStandIn(readTestEndpoints().postgres.superuserUrl, 'proxy_plan');
    service = await startControlledService(standIn.baseUrl);
  });
  afterAll(async () => {
    await service?.close();
    await standIn?.stop();
  });
  beforeEach(async () => {
    service.state.failing = false;
    strangler = await startTestStrangler({
      name: 'plan',
      token: TOKEN,
      routes: {
        defaultTarget: 'monolith',
        upstreams: [
          { name: 'monolith', url: '${MONOLITH_URL}' },
          { name: 'device-management', url: '${DEVICE_MANAGEMENT_URL}' },
        ],
        routes: [{ ...HEATING_GET_PLAN_ROUTE, plan: { ...HEATING_GET_PLAN_ROUTE.plan, dwellSeconds: 1 } }],
      },
      env: {
        PROXY_STATS_WINDOW_SECONDS: '5',
        PROXY_PLAN_TICK_MS: '200',
        MONOLITH_URL: standIn.baseUrl,
        DEVICE_MANAGEMENT_URL: service.url,
      },
    });
  });
  afterEach(async () => {
    await strangler?.stop();
  });

  const admin = async <T>(p: string): Promise<T> => {
    const res = await fetch(`${strangler.adminUrl}${p}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  };
  const route = async () => (await admin<{ route: RouteSpec }>('/api/routes/heating-get')).route;
  let key = 0;
  /** Client traffic over the four seeded heating systems, each request with a fresh canary key. */
  const traffic = async (n: number): Promise<number[]> => {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${strangler.proxyUrl}/api/heating/${(i % 4) + 1}`, {
        headers: { 'x-house-id': `house-${key++}` },
      });
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    return statuses;
  };
  /** Drives traffic until the route satisfies `until` (the proxy's own runner decides; the test only waits). */
  const driveUntil = (what: string, until: (r: RouteSpec) => boolean) =>
    waitFor(
      what,
      async () => {
        await traffic(20);
        const r = await route();
        return until(r) ? r : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 20 },
    );
  const planEntries = async () =>
    (await admin<{ entries: AuditEntry[] }>('/api/audit?route=heating-get&limit=100')).entries.filter(
      (e) => e.actor === 'plan',
    );

  it('advances shadow → canary 10 % → 50 % → service on good evidence, with each step and its evidence audited', async () => {
    const done = await driveUntil('the plan to finish', (r) => r.plan?.status === 'done');
    expect(done).toMatchObject({ target: 'device-management', mode: 'forward' });

    const entries = await planEntries();
    expect(entries.map((e) => e.reason.split(':')[1]!.trim())).toEqual([
      'monolith → shadow',
      'shadow → canary 10%',
      'canary 10% → canary 50%',
      'canary 50% → service',
    ]);
    expect(entries.every((e) => e.source === 'plan' && e.action === 'route.updated')).toBe(true);
    const shadow = entries[1]!.evidence as { shadow: { compared: number; equal: number; agreement: number } };
    expect(shadow.shadow.compared).toBeGreaterThanOrEqual(30);
    expect(shadow.shadow.agreement).toBe(1);
    for (const e of entries.slice(2)) {
      const ev = e.evidence as {
        dwellSeconds: number;
        monolith: { requests: number; errors: number };
        service: { requests: number; errors: number };
      };
      expect(ev.dwellSeconds).toBeGreaterThanOrEqual(1);
      expect(ev.monolith.requests).toBeGreaterThanOrEqual(15);
      expect(ev.service.requests).toBeGreaterThanOrEqual(15);
      expect(ev.service.errors).toBe(0);
    }
    // the service now answers every request of the route
    const res = await fetch(`${strangler.proxyUrl}/api/heating/2`);
    expect(res.headers.get('x-strangler-upstream')).toBe('device-management');
    expect((await admin<{ decision: { action: string } }>('/api/routes/heating-get/plan')).decision.action).toBe(
      'hold',
    );
  });

  it('rolls back to the monolith when the service starts failing during the canary, with the evidence audited', async () => {
    await driveUntil('the first canary step', (r) => r.mode === 'canary');
    service.state.failing = true;
    const back = await driveUntil('the rollback', (r) => r.plan?.status === 'rolled-back');
    expect(back).toMatchObject({ target: 'monolith', mode: 'forward' });

    const last = (await planEntries()).at(-1)!;
    expect(last.reason).toMatch(/^plan rollback: canary \d+% → monolith: service error rate/);
    const ev = last.evidence as {
      monolith: { errors: number; requests: number };
      service: { errors: number; requests: number; errorRate: number };
      limits: { maxServiceErrorRate: number };
    };
    expect(ev.service.requests).toBeGreaterThanOrEqual(15);
    expect(ev.service.errorRate).toBeGreaterThan(ev.limits.maxServiceErrorRate);
    expect(ev.monolith.errors).toBe(0);

    // after the rollback every client answer comes from the monolith again, and the plan stays rolled back
    const statuses = await traffic(20);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const check = await admin<{ decision: { action: string; reason: string }; wouldApply: boolean }>(
      '/api/routes/heating-get/plan',
    );
    expect(check).toMatchObject({ wouldApply: false, decision: { action: 'hold', reason: 'the plan is rolled-back' } });
    const stats = await admin<{ routes: Record<string, { service: { errors: number } }> }>('/api/stats');
    expect(stats.routes['heating-get']!.service.errors).toBeGreaterThan(0);
  });
});
