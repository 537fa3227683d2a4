import type { Logger } from '@warmhouse/shared';
import { LOG_EVENTS } from '../log-events';
import type { RouteStats, ShadowTotals } from '../stats/route-stats';
import type { RouteSpec } from '../table/schema';
import type { RouteTableStore } from '../table/store';
import { evaluatePlan, planMonolith, type PlanDecision, type PlanEvidence } from './evaluate';

/** The dry run of one route's plan: where it stands and what the runner would do now. */
export interface PlanCheck {
  routeId: string;
  plan: RouteSpec['plan'] | null;
  monolith: string;
  route: { target: string; mode: string; weight: number | null };
  stepStartedAt: string;
  /** `true` when the runner would apply `decision` on its next tick (the plan is active and it is not a hold). */
  wouldApply: boolean;
  decision: PlanDecision;
}

interface StepState {
  key: string;
  since: number;
  shadowBase: ShadowTotals;
}

/** Options of {@link PlanRunner}. */
export interface PlanRunnerOptions {
  /** Evaluation period in milliseconds. */
  tickMs: number;
  now?: () => number;
}

function minus(a: ShadowTotals, b: ShadowTotals): ShadowTotals {
  return {
    compared: a.compared - b.compared,
    equal: a.equal - b.equal,
    different: a.different - b.different,
    serviceErrors: a.serviceErrors - b.serviceErrors,
    skipped: a.skipped - b.skipped,
  };
}

/**
 * Drives route plans: every tick, evaluates each route with an active plan against its evidence and applies
 * an advance or rollback through the table store — the same validated, persisted, audited path as a person's
 * change — as actor `plan` with the decision's reason and evidence. Step start times live in memory: after a
 * restart a step's dwell time and evidence start again (never shorter, only later).
 */
export class PlanRunner {
  private readonly steps = new Map<string, StepState>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(
    private readonly store: RouteTableStore,
    private readonly stats: RouteStats,
    private readonly logger: Logger,
    private readonly options: PlanRunnerOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.options.tickMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Evidence and verdict for one route now, without applying anything; `undefined` for an unknown route. */
  check(routeId: string): PlanCheck | undefined {
    const table = this.store.current.spec;
    const route = table.routes.find((r) => r.id === routeId);
    if (!route) return undefined;
    const now = this.now();
    const state = this.track(route, now);
    const evidence: PlanEvidence = {
      stepStartedAt: state.since,
      window: this.stats.route(route.id, state.since),
      shadow: minus(this.stats.shadowTotals(route.id), state.shadowBase),
    };
    const decision = evaluatePlan(route, table.defaultTarget, evidence, now);
    return {
      routeId,
      plan: route.plan ?? null,
      monolith: planMonolith(route, table.defaultTarget),
      route: { target: route.target, mode: route.mode, weight: route.weight ?? null },
      stepStartedAt: new Date(state.since).toISOString(),
      wouldApply: route.plan?.status === 'active' && decision.action !== 'hold',
      decision,
    };
  }

  /** One evaluation round over every route with an active plan. */
  tick(): void {
    const ids = new Set<string>();
    for (const route of this.store.current.spec.routes) {
      ids.add(route.id);
      if (route.plan?.status !== 'active') continue;
      try {
        this.apply(route.id);
      } catch (err) {
        this.logger.error({ event: LOG_EVENTS.planFailed, route: route.id, err }, 'plan step failed');
      }
    }
    for (const id of this.steps.keys()) if (!ids.has(id)) this.steps.delete(id);
  }

  private apply(routeId: string): void {
    const check = this.check(routeId);
    if (!check?.wouldApply || !check.decision.next) return;
    const { decision } = check;
    const result = this.store.updateRoute(routeId, decision.next!.patch, {
      actor: 'plan',
      source: 'plan',
      reason: `plan ${decision.action}: ${decision.reason}`,
      evidence: decision.evidence,
    });
    const fields = { event: LOG_EVENTS.planStep, route: routeId, action: decision.action, evidence: decision.evidence };
    if (result.ok) this.logger.info(fields, `plan ${decision.action}: ${routeId} ${decision.reason}`);
    else this.logger.error({ ...fields, issues: result.issues }, `plan ${decision.action} of ${routeId} was refused`);
  }

  /** The route's current step; a new step (target, mode or weight changed) starts now with fresh evidence. */
  private track(route: RouteSpec, now: number): StepState {
    const key = `${route.target}|${route.mode}|${route.mode === 'canary' ? (route.weight ?? 0) : ''}`;
    const known = this.steps.get(route.id);
    if (known?.key === key) return known;
    const state = { key, since: now, shadowBase: this.stats.shadowTotals(route.id) };
    this.steps.set(route.id, state);
    return state;
  }
}
