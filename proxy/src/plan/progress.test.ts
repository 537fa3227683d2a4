import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PlanSchema } from '../table/plan-schema';
import { PlanProgressStore, planHash, stepKeyOf, type StepProgress } from './progress';

const plan = PlanSchema.parse({ service: 'device-management', canary: [10, 50], dwellSeconds: 300 });
const progress: StepProgress = {
  planHash: planHash(plan),
  step: stepKeyOf({ target: 'device-management', mode: 'canary', weight: 10 }),
  startedAt: '2026-11-25T15:40:02.118Z',
};

describe('PlanProgressStore', () => {
  let dir: string;
  let store: PlanProgressStore;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'strangler-progress-'));
    store = new PlanProgressStore(path.join(dir, 'state'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads back what it saved, in plan-progress.json of the state directory, with no temporary file left', () => {
    store.save(new Map([['get', progress]]), new Date('2026-11-25T15:41:00.000Z'));
    expect(store.file).toBe(path.join(dir, 'state', 'plan-progress.json'));
    expect(JSON.parse(readFileSync(store.file, 'utf8'))).toEqual({
      format: 1,
      savedAt: '2026-11-25T15:41:00.000Z',
      routes: { get: progress },
    });
    expect(readdirSync(path.join(dir, 'state'))).toEqual(['plan-progress.json']);
    expect(new PlanProgressStore(path.join(dir, 'state')).load()).toEqual({
      ok: true,
      routes: new Map([['get', progress]]),
    });
    store.save(new Map(), new Date());
    expect(store.load()).toEqual({ ok: true, routes: new Map() });
  });

  it('has no progress without a file', () => {
    expect(store.load()).toEqual({ ok: true, routes: new Map() });
  });

  it.each([
    ['a torn write', '{"format":1,"savedAt":"2026-', /^not JSON: /],
    [
      'another format',
      JSON.stringify({ format: 2, savedAt: '2026-11-25T15:41:00.000Z', routes: {} }),
      /^invalid: format: /,
    ],
    [
      'a bad start time',
      JSON.stringify({
        format: 1,
        savedAt: '2026-11-25T15:41:00.000Z',
        routes: { get: { ...progress, startedAt: 'x' } },
      }),
      /routes\.get\.startedAt/,
    ],
    [
      'an unknown field',
      JSON.stringify({ format: 1, savedAt: '2026-11-25T15:41:00.000Z', routes: { get: { ...progress, dwell: 1 } } }),
      /dwell/,
    ],
  ])('reports %s as a problem instead of throwing', (_what, text, problem) => {
    store.save(new Map(), new Date());
    writeFileSync(store.file, text);
    const loaded = store.load();
    expect(loaded.ok).toBe(false);
    expect(!loaded.ok && loaded.problem).toMatch(problem);
  });
});

describe('planHash', () => {
  it('identifies the definition: not the status, the key order or defaults written out', () => {
    const written = PlanSchema.parse({
      dwellSeconds: 300,
      canary: [10, 50],
      status: 'paused',
      service: 'device-management',
      gates: { minRequests: 100 },
    });
    expect(planHash(written)).toBe(planHash(plan));
  });

  it.each([
    ['another dwell time', { dwellSeconds: 301 }],
    ['other canary weights', { canary: [10, 25, 50] }],
    ['other gates', { gates: { minRequests: 101 } }],
    ['a shadow step', { shadow: {} }],
    ['another service', { service: 'telemetry' }],
  ])('changes with %s', (_what, change) => {
    expect(
      planHash(PlanSchema.parse({ service: 'device-management', canary: [10, 50], dwellSeconds: 300, ...change })),
    ).not.toBe(planHash(plan));
  });
});
