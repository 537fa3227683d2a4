import { waitFor } from '@warmhouse/shared';
import request from 'supertest';
import { runCli } from '../cli';
import { RouteStats } from '../stats/route-stats';
import type { AuditEntry } from '../table/audit';
import { startTestStrangler, type TestStrangler } from '../testing/strangler';
import { monolithAndService, startUpstream, type TestUpstream } from '../testing/upstreams';

const TOKEN = 'plan-test-token-0123456789';
const auth = { Authorization: `Bearer ${TOKEN}` };

/** Both upstreams answer the same body (so shadow comparisons are equal); the service fails while `failing`. */
let failing = false;
function answer(name: string): Parameters<typeof startUpstream>[1] {
  return (req, res) => {
    req.resume();
    req.on('end', () => {
      if (name === 'device-management' && failing) {
        res.writeHead(500, { 'content-type': 'application/json' });
        return res.end('{"error":"boom"}');
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
      res.end(JSON.stringify({ id: 1, on: true }));
    });
  };
}

/**
 * The latency the statistics record for each side, instead of the measured one: the canary gates compare p99s
 * (default margin: monolith p99 × 1.2 + 5 ms), and over ~15 samples one slow request on a busy machine would be a
 * rollback. With these the verdicts depend only on the answers (status, counts), never on real timing.
 */
const recordedLatencyMs = { monolith: 4, service: 4 };
const recordRequest = RouteStats.prototype.request;
beforeAll(() => {
  jest.spyOn(RouteStats.prototype, 'request').mockImplementation(function (
    this: RouteStats,
    routeId,
    role,
    _measuredMs,
    failed,
  ) {
    recordRequest.call(this, routeId, role, recordedLatencyMs[role], failed);
  });
});
afterAll(() => jest.restoreAllMocks());

// a shared 2-core machine can be slow: generous deadlines, never fixed sleeps
jest.setTimeout(120_000);
describe('plan runner (real proxy, test upstreams)', () => {
  let mono: TestUpstream;
  let dm: TestUpstream;
  let s: TestStrangler;

  beforeAll(async () => {
    mono = await startUpstream('monolith', answer('monolith'));
    dm = await startUpstream('device-management', answer('device-management'));
  });
  afterAll(async () => {
    await mono.close();
    await dm.close();
  });
  beforeEach(async () => {
    failing = false;
    recordedLatencyMs.service = recordedLatencyMs.monolith;
    s = await startTestStrangler({
      name: 'plan',
      token: TOKEN,
      routes: {
        upstreams: monolithAndService(mono.url, dm.url),
        routes: [
          {
            id: 'get',
            methods: ['GET'],
            path: '/api/heating/:id',
            target: 'monolith',
            canary: { key: { param: 'id' } },
            plan: {
              service: 'device-management',
              shadow: { minComparisons: 20, minEqualRate: 1 },
              canary: [50],
              dwellSeconds: 0,
              gates: { minRequests: 10 },
            },
          },
          { id: 'other', methods: ['GET'], path: '/api/other', target: 'monolith' },
        ],
      },
      env: {
        PROXY_STATS_WINDOW_SECONDS: '3',
        PROXY_PLAN_TICK_MS: '3600000', // ticks are driven by the test
      },
    });
  });
  afterEach(() => s.stop());

  const load = async (n = 30): Promise<void> => {
    for (let i = 0; i < n; i++) await fetch(`${s.proxyUrl}/api/heating/${i}`).then((r) => r.arrayBuffer());
  };
  const route = () => s.store.current.spec.routes.find((r) => r.id === 'get')!;
  const planEntries = async (): Promise<AuditEntry[]> =>
    (await s.store.readAudit({ routeId: 'get' })).filter((e) => e.source === 'plan');
  /** Sends load and ticks until the route's step label satisfies `done`. */
  const driveUntil = (what: string, done: () => boolean) =>
    waitFor(
      what,
      async () => {
        await load();
        await s.plans.tick();
        return done() ? true : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 50 },
    );

  it('advances shadow → canary → service on good evidence, auditing each step with its numbers', async () => {
    await s.plans.tick();
    expect(route()).toMatchObject({ mode: 'shadow', target: 'device-management' });
    await driveUntil('canary 50 %', () => route().mode === 'canary');
    expect(route().weight).toBe(50);
    await driveUntil('forward to the service', () => route().mode === 'forward');
    expect(route()).toMatchObject({ target: 'device-management', plan: { status: 'done' } });

    const entries = await planEntries();
    expect(entries.map((e) => e.actor)).toEqual(['plan', 'plan', 'plan']);
    expect(entries[0]!.reason).toBe('plan advance: monolith → shadow: plan started');
    expect(entries[1]!.reason).toMatch(/^plan advance: shadow → canary 50%: 100\.00 % of \d+ comparisons equal/);
    expect(entries[1]!.evidence).toMatchObject({ step: 'shadow', shadow: { different: 0, serviceErrors: 0 } });
    expect((entries[1]!.evidence as { shadow: { compared: number } }).shadow.compared).toBeGreaterThanOrEqual(20);
    expect(entries[2]!.reason).toMatch(/^plan advance: canary 50% → service: gates passed/);
    expect(entries[2]!.evidence).toMatchObject({
      step: 'canary 50%',
      // the recorded latencies, as HdrHistogram reads them back (2 significant digits)
      monolith: { errors: 0, p99Ms: expect.closeTo(4, 0) },
      service: { errors: 0, p99Ms: expect.closeTo(4, 0) },
      limits: { minRequests: 10, maxServiceP99Ms: expect.closeTo(4 * 1.2 + 5, 0) },
    });
    await s.plans.tick(); // a done plan does nothing more
    expect(await planEntries()).toHaveLength(3);
  });

  it('rolls back to the monolith when the service fails, with the evidence in the audit log', async () => {
    await s.plans.tick();
    await driveUntil('canary 50 %', () => route().mode === 'canary');
    failing = true;
    await driveUntil('rollback', () => route().mode === 'forward');
    expect(route()).toMatchObject({ target: 'monolith', plan: { status: 'rolled-back' } });
    const last = (await planEntries()).at(-1)!;
    expect(last.reason).toMatch(/^plan rollback: canary 50% → monolith: service error rate/);
    const ev = last.evidence as { service: { errors: number; requests: number }; monolith: { errors: number } };
    expect(ev.service.errors).toBeGreaterThanOrEqual(10);
    expect(ev.monolith.errors).toBe(0);
    // the plan stays rolled back: no automatic restart
    await load(5);
    await s.plans.tick();
    expect(route().mode).toBe('forward');
    expect((await planEntries()).at(-1)).toEqual(last);
  });

  it('rolls back to the monolith when the service is slower than the p99 margin', async () => {
    await s.plans.tick();
    await driveUntil('canary 50 %', () => route().mode === 'canary');
    recordedLatencyMs.service = 20; // above 4 ms × 1.2 + 5 ms = 9.8 ms
    await driveUntil('rollback', () => route().mode === 'forward');
    expect(route()).toMatchObject({ target: 'monolith', plan: { status: 'rolled-back' } });
    const last = (await planEntries()).at(-1)!;
    expect(last.reason).toMatch(/^plan rollback: canary 50% → monolith: service p99 20\.\d\d ms exceeds/);
    expect(last.evidence).toMatchObject({
      monolith: { errors: 0, p99Ms: expect.closeTo(4, 0) },
      service: { errors: 0, p99Ms: expect.closeTo(20, 0) },
    });
  });

  it('a manual change pauses the plan in the same version; resume hands the route back', async () => {
    await s.plans.tick();
    const admin = request(s.adminUrl);
    const r = await admin.patch('/api/routes/get').set(auth).send({ mode: 'forward', reason: 'hold on' }).expect(200);
    expect(r.body.route).toMatchObject({ mode: 'forward', target: 'device-management', plan: { status: 'paused' } });
    await s.plans.tick();
    expect(route().plan!.status).toBe('paused');
    const check = await admin.get('/api/routes/get/plan').set(auth).expect(200);
    expect(check.body).toMatchObject({ wouldApply: false, decision: { action: 'hold', reason: 'the plan is paused' } });
    await admin.patch('/api/routes/get').set(auth).send({ planStatus: 'active', reason: 'go on' }).expect(200);
    expect(route().plan!.status).toBe('active');
    await admin.patch('/api/routes/other').set(auth).send({ planStatus: 'active', reason: 'x' }).expect(400);
  });

  it('serves GET /api/stats in the dashboard shape and the dry run through the admin API and the CLI', async () => {
    await s.plans.tick(); // → shadow
    await load(10);
    const admin = request(s.adminUrl);
    await waitFor('shadow comparisons', async () => {
      const st = await admin.get('/api/stats').set(auth).expect(200);
      return st.body.routes.get.shadow.compared >= 10 ? st.body : undefined;
    }).then((body) => {
      expect(body.windowSeconds).toBe(3);
      expect(Object.keys(body.routes).sort()).toEqual(['get', 'other']);
      expect(body.routes.get).toEqual({
        monolith: {
          requests: expect.any(Number),
          errors: 0,
          errorRate: 0,
          p50Ms: expect.any(Number),
          p99Ms: expect.any(Number),
        },
        service: { requests: 0, errors: 0, errorRate: 0, p50Ms: null, p99Ms: null },
        shadow: {
          compared: expect.any(Number),
          equal: expect.any(Number),
          different: 0,
          serviceErrors: 0,
          skipped: 0,
          equalRate: 1,
        },
        fallbacks: 0,
      });
    });

    const out: string[] = [];
    const io = { out: (x: string) => out.push(x), err: (x: string) => out.push(x), env: {} };
    const base = ['--url', s.adminUrl, '--token', TOKEN];
    expect(await runCli([...base, 'plan', 'check', 'get'], io)).toBe(0);
    const text = out.join('');
    expect(text).toContain('get: shadow to device-management (monolith monolith); plan active: shadow → 50% → service');
    expect(text).toMatch(/now: {2}(HOLD|ADVANCE → canary 50%) — /);
    expect(text).toContain('COMPARED');
    out.length = 0;
    expect(await runCli([...base, '--json', 'plan', 'check', 'get'], io)).toBe(0);
    expect(JSON.parse(out.join(''))).toMatchObject({ routeId: 'get', decision: { step: 'shadow' } });
    out.length = 0;
    expect(
      await runCli([...base, 'route', 'set', 'get', '--mode', 'canary', '--weight', '10', '--reason', 'me'], io),
    ).toBe(0);
    expect(out.join('')).toContain('get: its plan is paused (strangler plan resume get');
    out.length = 0;
    expect(await runCli([...base, 'plan', 'resume', 'get', '--reason', 'go'], io)).toBe(0);
    expect(out.join('')).toContain('get: plan active');
    out.length = 0;
    expect(await runCli([...base, 'plan', 'pause', 'get', '--reason', 'lunch'], io)).toBe(0);
    expect(out.join('')).toContain('get: plan paused');
    expect(await runCli([...base, 'plan', 'check', 'nope'], io)).toBe(4);
  });
});
