import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { zodIssues } from '../table/issues';
import type { PlanSpec } from '../table/plan-schema';
import type { RouteSpec } from '../table/schema';
import { writeJsonState } from '../table/state-file';

/**
 * Where one route stands in its plan, as the runner needs it to go on after a restart. The step itself (the
 * route's target, mode and weight) and the plan's status are in the route table, persisted on their own; this
 * adds what only the runner knew: when the step began, and under which plan.
 */
export const StepProgressSchema = z
  .object({
    /** {@link planHash} of the plan the step was started under. */
    planHash: z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256, hex'),
    /** {@link stepKeyOf} the route when the step started. */
    step: z.string().min(1),
    /** When the step started (its dwell time counts from here), ISO-8601. */
    startedAt: z.iso.datetime({ offset: true }),
  })
  .strict();

/** The progress file (`plan-progress.json` in the state directory): one entry per route with a plan. */
export const PlanProgressFileSchema = z
  .object({
    format: z.literal(1),
    savedAt: z.iso.datetime({ offset: true }),
    routes: z.record(z.string().min(1), StepProgressSchema),
  })
  .strict();

export type StepProgress = z.output<typeof StepProgressSchema>;
export type PlanProgressFile = z.output<typeof PlanProgressFileSchema>;

/** Outcome of reading the progress file: the routes' progress (none without a file), or why it is unusable. */
export type ProgressLoad = { ok: true; routes: Map<string, StepProgress> } | { ok: false; problem: string };

export const PLAN_PROGRESS_FILE = 'plan-progress.json';

/** The route's step as the runner tells steps apart: a change of target, mode or canary weight is a new step. */
export function stepKeyOf(route: Pick<RouteSpec, 'target' | 'mode' | 'weight'>): string {
  return `${route.target}|${route.mode}|${route.mode === 'canary' ? (route.weight ?? 0) : ''}`;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, canonical(v)]),
  );
}

/**
 * Identity of a plan's definition — service, steps, dwell time and gates, not its status (pausing and resuming
 * is not a new plan). SHA-256 of the canonical JSON, so key order and defaults written out or not do not matter.
 */
export function planHash(plan: PlanSpec): string {
  const { status: _status, ...definition } = plan;
  return createHash('sha256')
    .update(JSON.stringify(canonical(definition)))
    .digest('hex');
}

/**
 * The runner's progress file. Read once at start-up; written whole (temporary file and rename, like the route
 * table) whenever a step begins or a route goes away. A missing file is no progress; an unreadable or invalid
 * one is reported, never thrown: the plans then start their steps over.
 */
export class PlanProgressStore {
  readonly file: string;

  constructor(stateDir: string) {
    mkdirSync(stateDir, { recursive: true });
    this.file = path.join(stateDir, PLAN_PROGRESS_FILE);
  }

  load(): ProgressLoad {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, routes: new Map() };
      return { ok: false, problem: `cannot read it: ${(err as Error).message}` };
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      return { ok: false, problem: `not JSON: ${(err as Error).message}` };
    }
    const parsed = PlanProgressFileSchema.safeParse(data);
    if (!parsed.success) {
      const issues = zodIssues(parsed.error).map((i) => `${i.path}: ${i.message}`);
      return { ok: false, problem: `invalid: ${issues.join('; ')}` };
    }
    return { ok: true, routes: new Map(Object.entries(parsed.data.routes)) };
  }

  save(routes: ReadonlyMap<string, StepProgress>, now: Date): void {
    const content: PlanProgressFile = { format: 1, savedAt: now.toISOString(), routes: Object.fromEntries(routes) };
    writeJsonState(this.file, content);
  }
}
