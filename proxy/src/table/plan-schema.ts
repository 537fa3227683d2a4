import { z } from 'zod';

/** Where a plan stands: the runner acts only on `active` plans. */
export const PLAN_STATUSES = ['active', 'paused', 'done', 'rolled-back'] as const;

/**
 * Gates every canary step must pass, comparing the service with the monolith on the same route over the
 * statistics window (restricted to the current step). A gate decides only with `minRequests` answers of
 * each side; with fewer the plan holds.
 */
export const PlanGatesSchema = z
  .object({
    /** Answers of each side (monolith and service) in the window before any verdict. */
    minRequests: z.number().int().min(1).max(1_000_000).default(100),
    /** The service's error rate may exceed the monolith's by at most this much (absolute, 0.01 = 1 point). */
    maxErrorRateIncrease: z.number().min(0).max(1).default(0.01),
    /** The service's p99 may exceed the monolith's by at most this many percent ... */
    maxP99IncreasePercent: z.number().min(0).max(10_000).default(20),
    /** ... plus this many milliseconds (so sub-millisecond p99s do not fail on noise). */
    p99SlackMs: z.number().min(0).max(60_000).default(5),
  })
  .strict();

/** Shadow step: comparisons needed, and the share of them that must be equal, before the first canary step. */
export const PlanShadowSchema = z
  .object({
    /** Comparisons since the step began (service errors count as comparisons that were not equal). */
    minComparisons: z.number().int().min(1).max(100_000_000).default(1_000),
    /** Required share of equal answers, 0–1 (0.999 = 99.9 %). */
    minEqualRate: z.number().min(0).max(1).default(0.999),
  })
  .strict();

/**
 * A migration plan of a route: optionally shadow first, then canary weights in increasing order, then the
 * service alone (mode `forward`, target `service`). The proxy advances it when the gates pass and the dwell
 * time has passed, and rolls the route back to the monolith (mode `forward`, status `rolled-back`) when a
 * gate fails. The route's mode, target and weight are the plan's position; `status` is its state.
 */
export const PlanSchema = z
  .object({
    /** Upstream the route is moved to (the monolith is the route's baseline, by default the default target). */
    service: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'must name an upstream'),
    /** `active`: the proxy drives it; `paused`: set by a manual change of the route; `done`, `rolled-back`: ended. */
    status: z.enum(PLAN_STATUSES).default('active'),
    /** Shadow step before the canary steps; left out: start with the first canary weight. */
    shadow: PlanShadowSchema.optional(),
    /** Canary weights in percent, strictly increasing; after the last, the route is forwarded to the service. */
    canary: z
      .array(z.number().int().min(1).max(100))
      .min(1)
      .max(20)
      .default([5, 25, 50, 100])
      .refine((ws) => ws.every((w, i) => i === 0 || w > ws[i - 1]!), { message: 'weights must strictly increase' }),
    /** Minimum time on each step (shadow and every canary weight) before the next one, in seconds. */
    dwellSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 24 * 3600)
      .default(300),
    gates: PlanGatesSchema.default({
      minRequests: 100,
      maxErrorRateIncrease: 0.01,
      maxP99IncreasePercent: 20,
      p99SlackMs: 5,
    }),
  })
  .strict();

/** A plan with defaults applied. */
export type PlanSpec = z.output<typeof PlanSchema>;
/** A plan as written in the table. */
export type PlanInput = z.input<typeof PlanSchema>;
/** A plan status. */
export type PlanStatus = (typeof PLAN_STATUSES)[number];
