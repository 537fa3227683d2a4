import type { Logger } from '@warmhouse/shared';
import { z } from 'zod';
import { LOG_EVENTS } from '../log-events';
import { planHash, stepKeyOf } from '../plan/progress';
import {
  combineShadow,
  emptyShadow,
  mergeWindowParts,
  type RouteStats,
  type RouteWindowStats,
  type ShadowTotals,
  type StatsSnapshot,
  type WindowParts,
} from '../stats/route-stats';
import type { TableSource } from '../table/store';
import type { ControlDatabase } from './database';

const Target = z.object({ requests: z.number(), errors: z.number(), histogram: z.string().nullable() });
const Shadow = z.object({
  compared: z.number(),
  equal: z.number(),
  different: z.number(),
  serviceErrors: z.number(),
  skipped: z.number(),
});
/** One process's evidence of one route for one plan step, as stored in `route_evidence`. */
export const EvidenceSchema = z.object({
  step: z.string(),
  planHash: z.string(),
  /** When this process began serving the step (ms). */
  since: z.number(),
  window: z.object({ monolith: Target, service: Target, fallbacks: z.number() }),
  shadow: Shadow,
  /** The whole sliding window of the route (every step), with its shadow counts: the fleet's `GET /api/stats`. */
  full: z.object({ window: z.object({ monolith: Target, service: Target, fallbacks: z.number() }), shadow: Shadow }),
});
export type Evidence = z.output<typeof EvidenceSchema>;

/** Where a plan runner reads the evidence of a route's current step. */
export interface EvidenceSource {
  evidence(query: {
    routeId: string;
    step: string;
    planHash: string | null;
    sinceMs: number;
  }): Promise<{ window: RouteWindowStats; shadow: ShadowTotals; processes?: number }>;
}

interface LocalStep {
  key: string;
  planHash: string;
  since: number;
  shadowBase: ShadowTotals;
}

/** Options of {@link FleetEvidence}. */
export interface FleetEvidenceOptions {
  db: ControlDatabase;
  processId: string;
  stats: RouteStats;
  table: TableSource;
  /** How often this process publishes its evidence (ms). */
  publishMs: number;
  logger: Logger;
  now?: () => number;
}

/**
 * The plans' evidence for the whole fleet. Every process publishes, for each route with a plan, what it saw
 * since it began serving the route's current step — request counts, errors and latency histograms of its
 * sliding window, shadow comparisons — to `route_evidence`; the plan runner merges every process's row of that
 * step (histograms added, counts summed). Rows of processes that died stay: what they saw still counts for the
 * shadow totals; their window counts drop out with the window.
 */
export class FleetEvidence implements EvidenceSource {
  private readonly steps = new Map<string, LocalStep>();
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private readonly now: () => number;

  constructor(private readonly options: FleetEvidenceOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => void this.publish(), this.options.publishMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.publish();
  }

  /** Writes this process's evidence of every route with a plan. */
  async publish(): Promise<void> {
    const now = this.now();
    const rows: Array<[string, Evidence]> = [];
    for (const route of this.options.table.current.spec.routes) {
      const key = stepKeyOf(route);
      const hash = route.plan ? planHash(route.plan) : '';
      let step = this.steps.get(route.id);
      if (!step || step.key !== key || step.planHash !== hash) {
        step = { key, planHash: hash, since: now, shadowBase: this.options.stats.shadowTotals(route.id) };
        this.steps.set(route.id, step);
      }
      rows.push([
        route.id,
        {
          step: key,
          planHash: hash,
          since: step.since,
          window: this.options.stats.windowParts(route.id, step.since) as WindowParts,
          shadow: combineShadow(this.options.stats.shadowTotals(route.id), step.shadowBase, -1),
          full: { window: this.options.stats.windowParts(route.id), shadow: this.windowShadow(route.id) },
        },
      ]);
    }
    if (rows.length === 0) return;
    try {
      await this.options.db.query(
        `INSERT INTO route_evidence (process_id, route_id, updated_at, evidence)
         SELECT $1, r->>0, clock_timestamp(), r->1 FROM jsonb_array_elements($2::jsonb) AS r
         ON CONFLICT (process_id, route_id) DO UPDATE SET updated_at = EXCLUDED.updated_at, evidence = EXCLUDED.evidence`,
        [this.options.processId, JSON.stringify(rows)],
      );
      this.failing = false;
    } catch (err) {
      if (!this.failing)
        this.options.logger.warn({ event: LOG_EVENTS.fleetHeartbeatFailed, err }, 'plan evidence not published');
      this.failing = true;
    }
  }

  /** The fleet's `GET /api/stats`: every live process's sliding window of every route, merged. */
  async snapshot(routeIds: readonly string[]): Promise<StatsSnapshot> {
    const rows = await this.options.db.query<{ route_id: string; evidence: unknown }>(
      `SELECT route_id, evidence FROM route_evidence
       WHERE updated_at > clock_timestamp() - make_interval(secs => $1)`,
      [this.options.stats.windowSeconds],
    );
    const byRoute = new Map<string, Evidence[]>(routeIds.map((id) => [id, []]));
    for (const row of rows) {
      const parsed = EvidenceSchema.safeParse(row.evidence);
      if (!parsed.success) continue;
      const list = byRoute.get(row.route_id) ?? [];
      list.push(parsed.data);
      byRoute.set(row.route_id, list);
    }
    const routes: StatsSnapshot['routes'] = {};
    for (const [id, list] of byRoute) {
      const shadow = list.reduce((acc, e) => combineShadow(acc, e.full.shadow, 1), emptyShadow());
      routes[id] = mergeWindowParts(
        list.map((e) => e.full.window),
        shadow,
      );
    }
    return { windowSeconds: this.options.stats.windowSeconds, routes };
  }

  /** Shadow counts of the route within this process's sliding window. */
  private windowShadow(routeId: string): ShadowTotals {
    const { equalRate: _rate, ...counts } = this.options.stats.route(routeId).shadow;
    return counts;
  }

  /** Every process's evidence of the route's step, merged; windows only from rows fresh within the window. */
  async evidence(query: {
    routeId: string;
    step: string;
    planHash: string | null;
    sinceMs: number;
  }): Promise<{ window: RouteWindowStats; shadow: ShadowTotals; processes: number }> {
    const rows = await this.options.db.query<{ evidence: unknown; fresh: boolean }>(
      `SELECT evidence, updated_at > clock_timestamp() - make_interval(secs => $2) AS fresh
       FROM route_evidence WHERE route_id = $1`,
      [query.routeId, this.options.stats.windowSeconds],
    );
    const parts: WindowParts[] = [];
    let shadow = emptyShadow();
    let processes = 0;
    for (const row of rows) {
      const parsed = EvidenceSchema.safeParse(row.evidence);
      if (!parsed.success) continue; // a foreign or older row: not evidence of this step
      const e = parsed.data;
      if (e.step !== query.step || e.planHash !== query.planHash) continue;
      processes++;
      shadow = combineShadow(shadow, e.shadow, 1);
      if (row.fresh) parts.push(e.window);
    }
    return { window: mergeWindowParts(parts, shadow), shadow, processes };
  }
}
