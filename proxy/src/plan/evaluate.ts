import type { RouteWindowStats, ShadowTotals } from '../stats/route-stats';
import type { PlanSpec, PlanStatus } from '../table/plan-schema';
import type { RouteMode, RouteSpec } from '../table/schema';

/** What the plan runner knows about a route's current step. */
export interface PlanEvidence {
  /** When the route entered its current step (ms since the epoch; the runner's first sight after a restart). */
  stepStartedAt: number;
  /** Rolling statistics of the route, restricted to the current step. */
  window: RouteWindowStats;
  /** Shadow counters since the step began (not windowed: comparisons accumulate over the whole step). */
  shadow: ShadowTotals;
}

/** A position of a route in its plan. */
export type PlanStep =
  | { kind: 'monolith' }
  | { kind: 'shadow' }
  | { kind: 'canary'; weight: number }
  | { kind: 'service' }
  | { kind: 'off'; why: string };

/** Route fields the runner writes to move a route to another step. */
export interface PlanPatch {
  target: string;
  mode: RouteMode;
  weight?: number;
  planStatus?: PlanStatus;
}

/** Numbers a decision was made on (kept in the audit entry). */
export interface DecisionEvidence {
  step: string;
  dwellSeconds: number;
  requiredDwellSeconds: number;
  shadow?: {
    compared: number;
    equal: number;
    different: number;
    serviceErrors: number;
    agreement: number | null;
    /** Comparisons a second since the step began (the copy budget and sample rate decide it). */
    perSecond?: number;
    /** At that rate, seconds until `minComparisons` (absent: no comparison yet, or enough). */
    etaSeconds?: number;
  };
  monolith?: { requests: number; errors: number; errorRate: number; p99Ms: number | null };
  service?: { requests: number; errors: number; errorRate: number; p99Ms: number | null };
  limits?: Record<string, number | null>;
}

/** The evaluator's verdict for a route now. */
export interface PlanDecision {
  action: 'advance' | 'hold' | 'rollback';
  /** One human sentence: what and why. */
  reason: string;
  /** Label of the current step (`monolith`, `shadow`, `canary 25%`, `service`). */
  step: string;
  /** Where an advance or rollback takes the route. */
  next?: { step: string; patch: PlanPatch };
  evidence: DecisionEvidence;
}

/** The monolith of a plan: the route's canary baseline, else its shadow baseline, else the default target. */
export function planMonolith(route: RouteSpec, defaultTarget: string): string {
  return route.canary?.baseline ?? route.shadow?.baseline ?? defaultTarget;
}

/** Where the route stands in its plan, read from its target, mode and weight. */
export function stepOf(route: RouteSpec, plan: PlanSpec, monolith: string): PlanStep {
  if (route.mode === 'unavailable') return { kind: 'off', why: 'the route is switched off (mode unavailable)' };
  if (route.target === plan.service) {
    if (route.mode === 'shadow') return { kind: 'shadow' };
    if (route.mode === 'canary') return { kind: 'canary', weight: route.weight ?? 0 };
    return { kind: 'service' };
  }
  if (route.target === monolith && route.mode === 'forward') return { kind: 'monolith' };
  return {
    kind: 'off',
    why: `the route is on "${route.target}" (mode ${route.mode}), neither the monolith "${monolith}" nor the plan's service "${plan.service}"`,
  };
}

/** Label of a step for people and audit entries. */
export function stepLabel(step: PlanStep): string {
  return step.kind === 'canary' ? `canary ${step.weight}%` : step.kind === 'off' ? 'off-plan' : step.kind;
}

/** The step after `step`: shadow (when planned), the canary weights above the current one, then the service. */
export function nextStep(step: PlanStep, plan: PlanSpec): PlanStep {
  const weights = plan.canary.filter((w) => w < 100);
  const after = (w: number): PlanStep => {
    const next = weights.find((x) => x > w);
    return next === undefined ? { kind: 'service' } : { kind: 'canary', weight: next };
  };
  if (step.kind === 'monolith') return plan.shadow ? { kind: 'shadow' } : after(0);
  if (step.kind === 'shadow') return after(0);
  if (step.kind === 'canary') return after(step.weight);
  return step;
}

function patchTo(step: PlanStep, plan: PlanSpec): PlanPatch {
  if (step.kind === 'shadow') return { target: plan.service, mode: 'shadow' };
  if (step.kind === 'canary') return { target: plan.service, mode: 'canary', weight: step.weight };
  return { target: plan.service, mode: 'forward', planStatus: 'done' };
}

const pct = (x: number): string => `${(x * 100).toFixed(2)} %`;
const msOf = (x: number | null): string => (x === null ? 'n/a' : `${x.toFixed(2)} ms`);

/**
 * How long until `needed` comparisons at the rate seen so far (`have` in `elapsedMs` since the step began):
 * `undefined` without a comparison yet or with enough.
 */
export function comparisonsEta(
  have: number,
  needed: number,
  elapsedMs: number,
): { perSecond: number; etaSeconds?: number } {
  const perSecond = elapsedMs > 0 ? have / (elapsedMs / 1000) : 0;
  if (have >= needed || perSecond === 0) return { perSecond };
  return { perSecond, etaSeconds: Math.ceil((needed - have) / perSecond) };
}

function duration(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 2 * 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/**
 * Decides what a route's plan does now. Pure: the same route, plan, evidence and clock give the same verdict.
 * - `monolith` → the first step at once (adding an active plan is the operator's go);
 * - `shadow` → advance once `minComparisons` comparisons (service errors included) agree at `minEqualRate` and
 *   the dwell time has passed; with enough comparisons below the rate: roll back;
 * - `canary w` → with at least `minRequests` answers of each side in the window: roll back when the service's
 *   error rate or p99 is worse than the monolith's by more than the margins, else advance once the dwell time
 *   has passed; with fewer answers: hold;
 * - the last step forwards the route to the service and marks the plan `done`.
 */
export function evaluatePlan(
  route: RouteSpec,
  defaultTarget: string,
  evidence: PlanEvidence,
  now: number,
): PlanDecision {
  const plan = route.plan;
  const dwell = Math.max(0, Math.floor((now - evidence.stepStartedAt) / 1000));
  if (!plan) {
    return {
      action: 'hold',
      reason: 'the route has no plan',
      step: 'none',
      evidence: { step: 'none', dwellSeconds: dwell, requiredDwellSeconds: 0 },
    };
  }
  const monolith = planMonolith(route, defaultTarget);
  const step = stepOf(route, plan, monolith);
  const label = stepLabel(step);
  const base: DecisionEvidence = { step: label, dwellSeconds: dwell, requiredDwellSeconds: plan.dwellSeconds };
  const hold = (reason: string, evidence: DecisionEvidence = base): PlanDecision => ({
    action: 'hold',
    reason,
    step: label,
    evidence,
  });
  const advance = (reason: string, evidence: DecisionEvidence = base): PlanDecision => {
    const to = nextStep(step, plan);
    return {
      action: 'advance',
      reason: `${label} → ${stepLabel(to)}: ${reason}`,
      step: label,
      next: { step: stepLabel(to), patch: patchTo(to, plan) },
      evidence,
    };
  };
  const rollback = (reason: string, evidence: DecisionEvidence): PlanDecision => ({
    action: 'rollback',
    reason: `${label} → monolith: ${reason}`,
    step: label,
    next: { step: 'monolith', patch: { target: monolith, mode: 'forward', planStatus: 'rolled-back' } },
    evidence,
  });

  if (plan.status !== 'active') return hold(`the plan is ${plan.status}`);
  switch (step.kind) {
    case 'off':
      return hold(`the plan waits: ${step.why}`);
    case 'service':
      return {
        action: 'advance',
        reason: 'the route already forwards to the service: the plan is done',
        step: label,
        next: { step: 'service', patch: { target: plan.service, mode: 'forward', planStatus: 'done' } },
        evidence: base,
      };
    case 'monolith':
      return advance('plan started');
    case 'shadow': {
      const gate = plan.shadow ?? { minComparisons: 1_000, minEqualRate: 0.999 };
      const s = evidence.shadow;
      const n = s.compared + s.serviceErrors;
      const agreement = n === 0 ? null : s.equal / n;
      const eta = comparisonsEta(n, gate.minComparisons, now - evidence.stepStartedAt);
      const ev: DecisionEvidence = {
        ...base,
        shadow: {
          compared: s.compared,
          equal: s.equal,
          different: s.different,
          serviceErrors: s.serviceErrors,
          agreement,
          perSecond: Math.round(eta.perSecond * 100) / 100,
          ...(eta.etaSeconds !== undefined ? { etaSeconds: eta.etaSeconds } : {}),
        },
        limits: { minComparisons: gate.minComparisons, minEqualRate: gate.minEqualRate },
      };
      if (n < gate.minComparisons)
        return hold(
          `${n} of ${gate.minComparisons} comparisons so far (${s.equal} equal); ` +
            (eta.etaSeconds === undefined
              ? 'no estimate yet'
              : `at ${eta.perSecond.toFixed(1)} a second about ${duration(eta.etaSeconds)} to go`),
          ev,
        );
      if (agreement! < gate.minEqualRate)
        return rollback(
          `${pct(agreement!)} of ${n} comparisons equal (${s.different} different, ${s.serviceErrors} service errors), below ${pct(gate.minEqualRate)}`,
          ev,
        );
      if (dwell < plan.dwellSeconds)
        return hold(
          `shadow gate passes (${pct(agreement!)} of ${n} equal); dwell ${dwell} s of ${plan.dwellSeconds} s`,
          ev,
        );
      return advance(`${pct(agreement!)} of ${n} comparisons equal (≥ ${pct(gate.minEqualRate)}) after ${dwell} s`, ev);
    }
    case 'canary': {
      const g = plan.gates;
      const m = evidence.window.monolith;
      const s = evidence.window.service;
      const maxErrorRate = m.errorRate + g.maxErrorRateIncrease;
      const maxP99 = m.p99Ms === null ? null : m.p99Ms * (1 + g.maxP99IncreasePercent / 100) + g.p99SlackMs;
      const side = (t: typeof m) => ({
        requests: t.requests,
        errors: t.errors,
        errorRate: t.errorRate,
        p99Ms: t.p99Ms,
      });
      const ev: DecisionEvidence = {
        ...base,
        monolith: side(m),
        service: side(s),
        limits: { minRequests: g.minRequests, maxServiceErrorRate: maxErrorRate, maxServiceP99Ms: maxP99 },
      };
      if (m.requests < g.minRequests || s.requests < g.minRequests)
        return hold(
          `not enough answers yet: service ${s.requests}, monolith ${m.requests} (each needs ${g.minRequests})`,
          ev,
        );
      if (s.errorRate > maxErrorRate)
        return rollback(
          `service error rate ${pct(s.errorRate)} (${s.errors}/${s.requests}) exceeds the monolith's ${pct(m.errorRate)} + ${pct(g.maxErrorRateIncrease)}`,
          ev,
        );
      if (maxP99 !== null && s.p99Ms !== null && s.p99Ms > maxP99)
        return rollback(
          `service p99 ${msOf(s.p99Ms)} exceeds the monolith's ${msOf(m.p99Ms)} + ${g.maxP99IncreasePercent} % + ${g.p99SlackMs} ms = ${msOf(maxP99)}`,
          ev,
        );
      const passing = `service errors ${pct(s.errorRate)} ≤ ${pct(maxErrorRate)}, p99 ${msOf(s.p99Ms)} ≤ ${msOf(maxP99)}`;
      if (dwell < plan.dwellSeconds)
        return hold(`gates pass (${passing}); dwell ${dwell} s of ${plan.dwellSeconds} s`, ev);
      return advance(`gates passed (${passing}) after ${dwell} s`, ev);
    }
  }
}
