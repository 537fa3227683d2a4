import type { RouteWindowStats, TargetStats } from '../stats/route-stats';
import { RouteSchema, type RouteInput } from '../table/schema';
import { comparisonsEta, evaluatePlan, nextStep, stepOf, type PlanEvidence } from './evaluate';

const T0 = 1_700_000_000_000;
const plan = {
  service: 'device-management',
  shadow: { minComparisons: 100, minEqualRate: 0.99 },
  canary: [5, 25, 50, 100],
  dwellSeconds: 60,
  gates: { minRequests: 50, maxErrorRateIncrease: 0.01, maxP99IncreasePercent: 20, p99SlackMs: 5 },
};

function route(extra: Partial<RouteInput> = {}, planExtra: object = {}) {
  return RouteSchema.parse({ id: 'r', path: '/api/x', target: 'monolith', plan: { ...plan, ...planExtra }, ...extra });
}

function side(requests: number, errors: number, p99Ms: number | null): TargetStats {
  return {
    requests,
    errors,
    errorRate: requests ? errors / requests : 0,
    p50Ms: p99Ms,
    p99Ms: requests ? p99Ms : null,
  };
}

function evidence(opts: {
  monolith?: TargetStats;
  service?: TargetStats;
  shadow?: Partial<PlanEvidence['shadow']>;
}): PlanEvidence {
  const window: RouteWindowStats = {
    monolith: opts.monolith ?? side(0, 0, null),
    service: opts.service ?? side(0, 0, null),
    shadow: { compared: 0, equal: 0, different: 0, serviceErrors: 0, skipped: 0, equalRate: null },
    fallbacks: 0,
  };
  return {
    stepStartedAt: T0,
    window,
    shadow: { compared: 0, equal: 0, different: 0, serviceErrors: 0, skipped: 0, ...opts.shadow },
  };
}

const at = (seconds: number) => T0 + seconds * 1000;
const shadowRoute = () => route({ target: 'device-management', mode: 'shadow' });
const canaryRoute = (weight: number) => route({ target: 'device-management', mode: 'canary', weight });

describe('plan steps', () => {
  it('reads the step from target, mode and weight', () => {
    const p = route().plan!;
    expect(stepOf(route(), p, 'monolith')).toEqual({ kind: 'monolith' });
    expect(stepOf(shadowRoute(), p, 'monolith')).toEqual({ kind: 'shadow' });
    expect(stepOf(canaryRoute(25), p, 'monolith')).toEqual({ kind: 'canary', weight: 25 });
    expect(stepOf(route({ target: 'device-management' }), p, 'monolith')).toEqual({ kind: 'service' });
    expect(stepOf(route({ mode: 'unavailable' }), p, 'monolith').kind).toBe('off');
    expect(stepOf(route({ target: 'telemetry' }), p, 'monolith').kind).toBe('off');
  });

  it('goes shadow → canary weights below 100 → service; a weight off the list continues with the next above it', () => {
    const p = route().plan!;
    expect(nextStep({ kind: 'monolith' }, p)).toEqual({ kind: 'shadow' });
    expect(nextStep({ kind: 'shadow' }, p)).toEqual({ kind: 'canary', weight: 5 });
    expect(nextStep({ kind: 'canary', weight: 5 }, p)).toEqual({ kind: 'canary', weight: 25 });
    expect(nextStep({ kind: 'canary', weight: 30 }, p)).toEqual({ kind: 'canary', weight: 50 });
    expect(nextStep({ kind: 'canary', weight: 50 }, p)).toEqual({ kind: 'service' });
    const noShadow = route({}, { shadow: undefined, canary: [10, 60] }).plan!;
    expect(nextStep({ kind: 'monolith' }, noShadow)).toEqual({ kind: 'canary', weight: 10 });
    expect(nextStep({ kind: 'canary', weight: 60 }, noShadow)).toEqual({ kind: 'service' });
  });
});

describe('evaluatePlan', () => {
  it('holds without a plan, and when the plan is paused, done or rolled back', () => {
    const bare = RouteSchema.parse({ id: 'r', path: '/x', target: 'monolith' });
    expect(evaluatePlan(bare, 'monolith', evidence({}), at(1))).toMatchObject({ action: 'hold', step: 'none' });
    for (const status of ['paused', 'done', 'rolled-back'] as const) {
      const d = evaluatePlan(route({}, { status }), 'monolith', evidence({}), at(1));
      expect(d).toMatchObject({ action: 'hold', reason: `the plan is ${status}` });
      expect(d.next).toBeUndefined();
    }
  });

  it('starts an active plan on the monolith at once with the first step', () => {
    const d = evaluatePlan(route(), 'monolith', evidence({}), at(0));
    expect(d.action).toBe('advance');
    expect(d.next).toEqual({ step: 'shadow', patch: { target: 'device-management', mode: 'shadow' } });
  });

  it('holds a route that is switched off or on another upstream', () => {
    expect(evaluatePlan(route({ mode: 'unavailable' }), 'monolith', evidence({}), at(999)).action).toBe('hold');
    expect(evaluatePlan(route({ target: 'telemetry' }), 'monolith', evidence({}), at(999)).reason).toMatch(
      /neither the monolith/,
    );
  });

  describe('shadow gate', () => {
    it('holds below the minimum number of comparisons even when all differ', () => {
      const d = evaluatePlan(shadowRoute(), 'monolith', evidence({ shadow: { compared: 99, different: 99 } }), at(999));
      expect(d.action).toBe('hold');
      expect(d.reason).toContain('99 of 100 comparisons');
    });

    it('advances to the first canary weight with enough equal comparisons after the dwell time', () => {
      const e = evidence({ shadow: { compared: 200, equal: 199, different: 1 } });
      expect(evaluatePlan(shadowRoute(), 'monolith', e, at(59)).action).toBe('hold');
      const d = evaluatePlan(shadowRoute(), 'monolith', e, at(60));
      expect(d.action).toBe('advance');
      expect(d.next).toEqual({ step: 'canary 5%', patch: { target: 'device-management', mode: 'canary', weight: 5 } });
      expect(d.evidence.shadow).toEqual({
        compared: 200,
        equal: 199,
        different: 1,
        serviceErrors: 0,
        agreement: 0.995,
        perSecond: 3.33, // 200 in 60 s; enough, so no time to go
      });
    });

    it('says how long the comparisons still take at the rate seen so far', () => {
      const e = evidence({ shadow: { compared: 20, equal: 20 } });
      const d = evaluatePlan(shadowRoute(), 'monolith', e, at(10));
      expect(d.action).toBe('hold');
      expect(d.reason).toBe('20 of 100 comparisons so far (20 equal); at 2.0 a second about 40 s to go');
      expect(d.evidence.shadow).toMatchObject({ perSecond: 2, etaSeconds: 40 });
      const none = evaluatePlan(shadowRoute(), 'monolith', evidence({ shadow: {} }), at(10));
      expect(none.reason).toContain('0 of 100 comparisons so far (0 equal); no estimate yet');
    });

    it('rolls back when too few comparisons are equal, service errors counting as not equal', () => {
      const e = evidence({ shadow: { compared: 100, equal: 99, different: 1, serviceErrors: 2 } });
      const d = evaluatePlan(shadowRoute(), 'monolith', e, at(1));
      expect(d.action).toBe('rollback');
      expect(d.next).toEqual({
        step: 'monolith',
        patch: { target: 'monolith', mode: 'forward', planStatus: 'rolled-back' },
      });
      expect(d.evidence.shadow?.agreement).toBeCloseTo(99 / 102);
    });
  });

  describe('canary gates', () => {
    const good = { monolith: side(1000, 2, 10), service: side(60, 0, 11) };

    it('holds until each side has the minimum number of answers', () => {
      const d = evaluatePlan(
        canaryRoute(5),
        'monolith',
        evidence({ monolith: side(1000, 0, 10), service: side(49, 49, 900) }),
        at(999),
      );
      expect(d.action).toBe('hold');
      expect(d.reason).toContain('service 49, monolith 1000');
      expect(
        evaluatePlan(
          canaryRoute(5),
          'monolith',
          evidence({ monolith: side(49, 0, 10), service: side(500, 0, 10) }),
          at(999),
        ).action,
      ).toBe('hold');
    });

    it('holds passing gates until the dwell time has passed, then advances to the next weight', () => {
      expect(evaluatePlan(canaryRoute(5), 'monolith', evidence(good), at(59))).toMatchObject({ action: 'hold' });
      const d = evaluatePlan(canaryRoute(5), 'monolith', evidence(good), at(60));
      expect(d).toMatchObject({ action: 'advance', step: 'canary 5%' });
      expect(d.next?.patch).toEqual({ target: 'device-management', mode: 'canary', weight: 25 });
      expect(d.evidence).toMatchObject({
        dwellSeconds: 60,
        monolith: { requests: 1000, errors: 2 },
        service: { requests: 60, errors: 0 },
        limits: { minRequests: 50, maxServiceErrorRate: 0.012, maxServiceP99Ms: 17 },
      });
    });

    it('forwards the route to the service after the last weight and marks the plan done', () => {
      const d = evaluatePlan(canaryRoute(50), 'monolith', evidence(good), at(60));
      expect(d.next).toEqual({
        step: 'service',
        patch: { target: 'device-management', mode: 'forward', planStatus: 'done' },
      });
    });

    it('rolls back at once (no dwell) when the service error rate exceeds the margin', () => {
      const d = evaluatePlan(
        canaryRoute(25),
        'monolith',
        evidence({ monolith: side(1000, 10, 10), service: side(100, 3, 10) }),
        at(1),
      );
      expect(d.action).toBe('rollback');
      expect(d.reason).toMatch(/service error rate 3\.00 %/);
      expect(d.next?.patch).toEqual({ target: 'monolith', mode: 'forward', planStatus: 'rolled-back' });
    });

    it('accepts an error rate exactly at the margin', () => {
      const d = evaluatePlan(
        canaryRoute(25),
        'monolith',
        evidence({ monolith: side(1000, 10, 10), service: side(100, 2, 10) }),
        at(60),
      );
      expect(d.action).toBe('advance');
    });

    it('rolls back when the service p99 exceeds the monolith p99 by more than percent plus slack', () => {
      const slow = evidence({ monolith: side(1000, 0, 10), service: side(100, 0, 17.5) });
      const d = evaluatePlan(canaryRoute(25), 'monolith', slow, at(1));
      expect(d.action).toBe('rollback');
      expect(d.reason).toMatch(/p99 17\.50 ms exceeds/);
      const within = evidence({ monolith: side(1000, 0, 10), service: side(100, 0, 16.9) });
      expect(evaluatePlan(canaryRoute(25), 'monolith', within, at(60)).action).toBe('advance');
    });

    it('rolls back to the canary baseline when the route has one', () => {
      const r = route({ target: 'device-management', mode: 'canary', weight: 5, canary: { baseline: 'legacy' } });
      const d = evaluatePlan(r, 'monolith', evidence({ monolith: side(100, 0, 1), service: side(100, 50, 1) }), at(1));
      expect(d.next?.patch.target).toBe('legacy');
    });
  });

  it('marks a plan done when the route already forwards to the service', () => {
    const d = evaluatePlan(route({ target: 'device-management' }), 'monolith', evidence({}), at(0));
    expect(d.next?.patch).toEqual({ target: 'device-management', mode: 'forward', planStatus: 'done' });
  });
});

describe('plan schema', () => {
  it('applies defaults and refuses weights that do not increase', () => {
    const r = RouteSchema.parse({ id: 'r', path: '/x', target: 'monolith', plan: { service: 'dm' } });
    expect(r.plan).toEqual({
      service: 'dm',
      status: 'active',
      canary: [5, 25, 50, 100],
      dwellSeconds: 300,
      gates: { minRequests: 100, maxErrorRateIncrease: 0.01, maxP99IncreasePercent: 20, p99SlackMs: 5 },
    });
    const bad = RouteSchema.safeParse({
      id: 'r',
      path: '/x',
      target: 'monolith',
      plan: { service: 'dm', canary: [5, 5] },
    });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toBe('weights must strictly increase');
  });
});

describe('comparisonsEta', () => {
  it.each([
    [0, 100, 10_000, { perSecond: 0 }],
    [50, 100, 10_000, { perSecond: 5, etaSeconds: 10 }],
    [100, 100, 10_000, { perSecond: 10 }],
    [1, 1_000, 60_000, { perSecond: 1 / 60, etaSeconds: 59_940 }],
    [5, 100, 0, { perSecond: 0 }],
  ])('%i of %i after %i ms → %p', (have, needed, elapsed, expected) => {
    expect(comparisonsEta(have, needed, elapsed)).toEqual(expected);
  });
});
