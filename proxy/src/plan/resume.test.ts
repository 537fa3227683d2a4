import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '@warmhouse/shared';
import { stringify } from 'yaml';
import { RouteStats } from '../stats/route-stats';
import type { RouteInput, TableSpecInput } from '../table/schema';
import { RouteTableStore } from '../table/store';
import { PlanProgressStore } from './progress';
import { PlanRunner } from './runner';

const env = { MONOLITH_URL: 'http://127.0.0.1:8080', DM_URL: 'http://127.0.0.1:8091' };
const T0 = Date.parse('2026-11-25T15:00:00.000Z');
const plan = { service: 'device-management', canary: [25, 50], dwellSeconds: 100, gates: { minRequests: 5 } };

function table(route: Partial<RouteInput> = {}, more: RouteInput[] = []): TableSpecInput {
  return {
    upstreams: [
      { name: 'monolith', url: '${MONOLITH_URL}' },
      { name: 'device-management', url: '${DM_URL}' },
    ],
    routes: [
      {
        id: 'get',
        methods: ['GET'],
        path: '/api/heating/:id',
        target: 'monolith',
        canary: { key: { param: 'id' } },
        plan,
        ...route,
      },
      ...more,
    ],
  };
}

/** One proxy process: its own table store, statistics and plan runner, all on the test's clock. */
interface Process {
  store: RouteTableStore;
  stats: RouteStats;
  runner: PlanRunner;
  warn: jest.SpyInstance;
}

describe('plan runner across restarts (fake clock)', () => {
  let dir: string;
  let routesFile: string;
  let stateDir: string;
  let t: number;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'strangler-resume-'));
    routesFile = path.join(dir, 'routes.yaml');
    stateDir = path.join(dir, 'state');
    writeFileSync(routesFile, stringify(table()));
    t = T0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const start = async (): Promise<Process> => {
    const logger = createLogger('resume-test', 'silent');
    const warn = jest.spyOn(logger, 'warn');
    const store = await RouteTableStore.open({ routesFile, stateDir, env, logger, now: () => new Date(t) });
    const stats = new RouteStats(60, 12, () => t);
    const progress = new PlanProgressStore(stateDir);
    const runner = new PlanRunner(store, stats, logger, { tickMs: 60_000, now: () => t, progress });
    return { store, stats, runner, warn };
  };
  /** Enough good answers of both sides for the canary gates. */
  const goodEvidence = (p: Process) => {
    for (let i = 0; i < 10; i++) {
      p.stats.request('get', 'monolith', 5, false);
      p.stats.request('get', 'service', 5, false);
    }
  };
  const at = (seconds: number) => (t = T0 + seconds * 1000);
  const step = (p: Process) => {
    const r = p.store.current.spec.routes.find((x) => x.id === 'get')!;
    return r.mode === 'canary' ? `canary ${r.weight}` : `${r.mode} ${r.target}`;
  };
  /** Starts the plan at T0: the route goes to canary 25 %, and the runner sees the new step at once. */
  const startPlan = async (): Promise<Process> => {
    const p = await start();
    await p.runner.tick();
    await p.runner.tick();
    expect(step(p)).toBe('canary 25');
    return p;
  };

  it('a step half-way through its dwell when the proxy restarts ends after the remaining half', async () => {
    const before = await startPlan();
    at(50);
    goodEvidence(before);
    await before.runner.tick();
    expect((await before.runner.check('get'))!.decision.reason).toMatch(/dwell 50 s of 100 s$/);
    before.runner.stop();

    const after = await start(); // the restart: a new store, new statistics, a new runner
    at(51);
    goodEvidence(after);
    await after.runner.tick();
    expect(await after.runner.check('get')).toMatchObject({
      stepStartedAt: new Date(T0).toISOString(),
      decision: { action: 'hold', reason: expect.stringMatching(/dwell 51 s of 100 s$/) },
    });
    at(99);
    await after.runner.tick();
    expect(step(after)).toBe('canary 25');
    at(100);
    await after.runner.tick();
    expect(step(after)).toBe('canary 50');
    expect((await after.store.readAudit({ routeId: 'get' })).at(-1)).toMatchObject({
      actor: 'plan',
      reason: expect.stringMatching(/^plan advance: canary 25% → canary 50%: gates passed .* after 100 s$/),
      evidence: { dwellSeconds: 100, requiredDwellSeconds: 100 },
    });
    expect(after.warn).not.toHaveBeenCalled();
  });

  it('starts the step over, audited, when the plan changed while the proxy was stopped', async () => {
    await startPlan();
    at(50);
    writeFileSync(
      routesFile,
      stringify(
        table({ target: 'device-management', mode: 'canary', weight: 25, plan: { ...plan, dwellSeconds: 120 } }),
      ),
    );
    const after = await start();
    goodEvidence(after);
    await after.runner.tick();
    expect((await after.runner.check('get'))!.stepStartedAt).toBe(new Date(t).toISOString());
    expect((await after.store.readAudit({ routeId: 'get' })).at(-1)).toMatchObject({
      action: 'plan.progress-reset',
      actor: 'plan',
      source: 'plan',
      reason: 'the plan changed since its progress was saved: step canary 25% starts over',
    });
    at(50 + 119);
    goodEvidence(after);
    await after.runner.tick();
    expect(step(after)).toBe('canary 25');
    at(50 + 120);
    await after.runner.tick();
    expect(step(after)).toBe('canary 50');
  });

  it('starts plans over on a corrupt progress file, warning with the file name and auditing it', async () => {
    await startPlan();
    at(50);
    const file = path.join(stateDir, 'plan-progress.json');
    writeFileSync(file, '{"format":1,"routes":{"get":');
    const after = await start();
    expect(after.warn).toHaveBeenCalledWith(
      expect.objectContaining({ event: 'plan_progress_unusable', file }),
      expect.stringContaining(`plan progress file ${file} is unusable (not JSON`),
    );
    expect((await after.store.readAudit()).at(-1)).toMatchObject({
      action: 'plan.progress-reset',
      reason: expect.stringContaining(`plan progress file ${file} unusable`),
    });
    expect((await after.store.readAudit()).at(-1)!.routeId).toBeUndefined();
    await after.runner.tick();
    expect((await after.runner.check('get'))!.stepStartedAt).toBe(new Date(t).toISOString());
    expect(new PlanProgressStore(stateDir).load()).toMatchObject({ ok: true }); // written anew
  });

  it("keeps the step's dwell through a routes-file change that leaves the plan as it is", async () => {
    const p = await startPlan();
    at(50);
    writeFileSync(routesFile, stringify(table({}, [{ id: 'other', path: '/api/other', target: 'monolith' }])));
    expect(await p.store.reloadFile()).toMatchObject({ ok: true });
    await p.runner.tick();
    expect(step(p)).toBe('canary 25');
    expect((await p.runner.check('get'))!.stepStartedAt).toBe(new Date(T0).toISOString());
    at(100);
    goodEvidence(p);
    await p.runner.tick();
    expect(step(p)).toBe('canary 50');
  });
});
