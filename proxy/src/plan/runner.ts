import type { Logger } from '@warmhouse/shared';
import { LOG_EVENTS } from '../log-events';
import { combineShadow, type RouteStats, type ShadowTotals } from '../stats/route-stats';
import type { RouteSpec } from '../table/schema';
import type { RouteTableStore } from '../table/store';
import type { EvidenceSource } from '../control/evidence';
import type { PlanLease } from '../control/lease';
import type { PgPlanProgress } from '../control/plan-progress';
import { ProxyError } from '../errors';
import { evaluatePlan, planMonolith, stepLabel, stepOf, type PlanDecision, type PlanEvidence } from './evaluate';
import { planHash, stepKeyOf, type PlanProgressStore, type StepProgress } from './progress';

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
  /** `null` for a route without a plan (tracked for the dry run only, never persisted). */
  planHash: string | null;
  since: number;
  shadowBase: ShadowTotals;
}

/** Options of {@link PlanRunner}. */
export interface PlanRunnerOptions {
  /** Evaluation period in milliseconds. */
  tickMs: number;
  now?: () => number;
  /** Where step start times are kept across restarts; without it they live in memory only. */
  progress?: PlanProgressStore;
  /**
   * The fleet: only the holder of `lease` applies plans, on the evidence of every process (`evidence`), keeping
   * step start times in the control store (`progress`) under the lease's epoch.
   */
  fleet?: { lease: PlanLease; progress: PgPlanProgress; evidence: EvidenceSource };
}

/**
 * Drives route plans: every tick, evaluates each route with an active plan against its evidence and applies
 * an advance or rollback through the table store — the same validated, persisted, audited path as a person's
 * change — as actor `plan` with the decision's reason and evidence.
 *
 * When a step began is kept in the progress store: after a restart a step resumes with the dwell time it had
 * (the statistics, in memory, count again from the restart), unless the route's plan changed meanwhile — then
 * the step starts over, audited as `plan.progress-reset`. An unusable progress file starts every step over.
 */
export class PlanRunner {
  private readonly steps = new Map<string, StepState>();
  /** Progress read at start-up of routes not yet seen since. */
  private saved: Map<string, StepProgress>;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  /** With a fleet: whether this process held the lease at its last tick. */
  private leading = false;
  private ticking: Promise<void> | undefined;

  constructor(
    private readonly store: RouteTableStore,
    private readonly stats: RouteStats,
    private readonly logger: Logger,
    private readonly options: PlanRunnerOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.saved = options.fleet ? new Map() : this.loadProgress();
  }

  /** With a fleet: whether this process runs the plans now (holds the lease). */
  get isLeader(): boolean {
    return this.options.fleet === undefined || this.leading;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.options.tickMs);
    this.timer.unref();
  }

  /** Stops ticking; with a fleet, gives the lease up so another process takes over at once. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    if (this.options.fleet && this.leading) await this.options.fleet.lease.release().catch(() => undefined);
    this.leading = false;
  }

  /** Evidence and verdict for one route now, without applying anything; `undefined` for an unknown route. */
  async check(routeId: string): Promise<PlanCheck | undefined> {
    const table = this.store.current.spec;
    const route = table.routes.find((r) => r.id === routeId);
    if (!route) return undefined;
    const now = this.now();
    // a process that does not run the plans answers from the runner's stored progress
    const state = this.options.fleet && !this.leading ? await this.storedState(route, now) : this.track(route, now);
    const evidence: PlanEvidence = { stepStartedAt: state.since, ...(await this.evidenceOf(route, state)) };
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

  /** The route's step as the fleet's runner stored it (its start time when the stored step is this one). */
  private async storedState(route: RouteSpec, now: number): Promise<StepState> {
    const key = stepKeyOf(route);
    const hash = route.plan ? planHash(route.plan) : null;
    const loaded = await this.options.fleet!.progress.load();
    const saved = loaded.ok ? loaded.routes.get(route.id) : undefined;
    const since = saved && saved.step === key && saved.planHash === hash ? Date.parse(saved.startedAt) : now;
    return { key, planHash: hash, since, shadowBase: this.stats.shadowTotals(route.id) };
  }

  /** This process's statistics since the step began, or (fleet) every process's evidence of the step merged. */
  private async evidenceOf(route: RouteSpec, state: StepState): Promise<Omit<PlanEvidence, 'stepStartedAt'>> {
    const fleet = this.options.fleet;
    if (!fleet) {
      return {
        window: this.stats.route(route.id, state.since),
        shadow: combineShadow(this.stats.shadowTotals(route.id), state.shadowBase, -1),
      };
    }
    const { window, shadow } = await fleet.evidence.evidence({
      routeId: route.id,
      step: state.key,
      planHash: state.planHash,
      sinceMs: state.since,
    });
    return { window, shadow };
  }

  /** One evaluation round over every route with an active plan (with a fleet: only while holding the lease). */
  tick(): Promise<void> {
    this.ticking ??= this.round().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async round(): Promise<void> {
    if (this.options.fleet && !(await this.lead())) return;
    const ids = new Set<string>();
    for (const route of this.store.current.spec.routes) {
      ids.add(route.id);
      if (route.plan?.status !== 'active') continue;
      try {
        await this.apply(route.id);
      } catch (err) {
        if (
          err instanceof ProxyError &&
          ['PROXY_ERR_VERSION_CONFLICT', 'PROXY_ERR_PLAN_LEASE_LOST'].includes(err.proxyCode)
        )
          this.logger.info({ event: LOG_EVENTS.planStep, route: route.id, code: err.proxyCode }, err.message);
        else this.logger.error({ event: LOG_EVENTS.planFailed, route: route.id, err }, 'plan step failed');
      }
    }
    let gone = false;
    for (const map of [this.steps, this.saved])
      for (const id of map.keys())
        if (!ids.has(id)) {
          map.delete(id);
          gone = true;
        }
    if (gone) this.saveProgress();
  }

  /**
   * Takes or renews the lease; on taking it, starts from the stored progress (the steps as the previous runner
   * left them) and the newest table, so no step is applied twice or skipped.
   */
  private async lead(): Promise<boolean> {
    const fleet = this.options.fleet!;
    const was = this.leading;
    try {
      this.leading = await fleet.lease.hold();
    } catch (err) {
      this.leading = false;
      this.logger.warn({ event: LOG_EVENTS.planLease, err }, 'plan lease not reachable: no plan runs here');
      return false;
    }
    if (this.leading && !was) {
      await this.store.sync();
      const loaded = await fleet.progress.load();
      this.steps.clear();
      this.saved = loaded.ok ? loaded.routes : new Map();
      if (!loaded.ok)
        this.audit(undefined, `stored plan progress unusable (${loaded.problem}): every step starts over`);
      this.logger.info(
        { event: LOG_EVENTS.planLease, epoch: fleet.lease.epoch, holder: fleet.lease.holder },
        'this process runs the plans now',
      );
    } else if (!this.leading && was)
      this.logger.info({ event: LOG_EVENTS.planLease, holder: fleet.lease.holder }, 'plan lease lost');
    return this.leading;
  }

  private async apply(routeId: string): Promise<void> {
    const version = this.store.storeVersion;
    const check = await this.check(routeId);
    if (!check?.wouldApply || !check.decision.next) return;
    const { decision } = check;
    const fence = this.options.fleet?.lease.fence();
    if (this.options.fleet && !fence) return;
    // decided on `version`: stored only if nothing changed since (a person's change, another runner's step)
    const result = await this.store.updateRoute(
      routeId,
      decision.next!.patch,
      {
        actor: 'plan',
        source: 'plan',
        reason: `plan ${decision.action}: ${decision.reason}`,
        evidence: decision.evidence,
      },
      { expectedVersion: version, ...(fence ? { fence } : {}) },
    );
    const fields = { event: LOG_EVENTS.planStep, route: routeId, action: decision.action, evidence: decision.evidence };
    if (result.ok) this.logger.info(fields, `plan ${decision.action}: ${routeId} ${decision.reason}`);
    else this.logger.error({ ...fields, issues: result.issues }, `plan ${decision.action} of ${routeId} was refused`);
  }

  /**
   * The route's current step; a new step (target, mode or weight changed, or another plan) starts now with
   * fresh evidence. The first sight of a route resumes its step from the progress saved before a restart.
   */
  private track(route: RouteSpec, now: number): StepState {
    const key = stepKeyOf(route);
    const hash = route.plan ? planHash(route.plan) : null;
    const known = this.steps.get(route.id);
    if (known?.key === key && known.planHash === hash) return known;
    const since = known ? now : this.resumedSince(route, key, hash, now);
    const state = { key, planHash: hash, since, shadowBase: this.stats.shadowTotals(route.id) };
    this.steps.set(route.id, state);
    this.saveProgress();
    return state;
  }

  /** When the route's step began, from the saved progress if it is this step of this plan; else now. */
  private resumedSince(route: RouteSpec, key: string, hash: string | null, now: number): number {
    const saved = this.saved.get(route.id);
    this.saved.delete(route.id);
    if (!saved || hash === null || saved.step !== key) return now;
    if (saved.planHash === hash) return Math.min(Date.parse(saved.startedAt), now);
    const step = stepLabel(stepOf(route, route.plan!, planMonolith(route, this.store.current.spec.defaultTarget)));
    this.audit(route.id, `the plan changed since its progress was saved: step ${step} starts over`);
    return now;
  }

  private loadProgress(): Map<string, StepProgress> {
    const progress = this.options.progress;
    if (!progress) return new Map();
    const loaded = progress.load();
    if (loaded.ok) return loaded.routes;
    this.logger.warn(
      { event: LOG_EVENTS.planProgressUnusable, file: progress.file, problem: loaded.problem },
      `plan progress file ${progress.file} is unusable (${loaded.problem}); every plan step starts over`,
    );
    this.audit(
      undefined,
      `plan progress file ${progress.file} unusable (${loaded.problem}): every plan step starts over`,
    );
    return new Map();
  }

  private saveProgress(): void {
    const fleet = this.options.fleet;
    const progress = this.options.progress;
    if (!progress && !fleet) return;
    if (fleet && !this.leading) return; // only the runner writes progress
    const routes = new Map(this.saved);
    for (const [id, s] of this.steps)
      if (s.planHash !== null)
        routes.set(id, { planHash: s.planHash, step: s.key, startedAt: new Date(s.since).toISOString() });
    const failed = (err: unknown) =>
      // the plans go on from memory; only a restart would start their steps over
      this.logger.error(
        { event: LOG_EVENTS.planProgressWriteFailed, file: fleet?.progress.file ?? progress?.file, err },
        'plan progress not saved',
      );
    if (fleet) {
      fleet.progress.save(routes).catch(failed);
      return;
    }
    try {
      progress!.save(routes, new Date(this.now()));
    } catch (err) {
      failed(err);
    }
  }

  private audit(routeId: string | undefined, reason: string): void {
    this.store.note('plan.progress-reset', routeId, { actor: 'plan', source: 'plan', reason }).catch((err: unknown) => {
      this.logger.error({ event: LOG_EVENTS.planFailed, route: routeId, err }, 'plan progress reset not audited');
    });
  }
}
