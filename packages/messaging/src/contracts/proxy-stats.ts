import { z } from 'zod';

/**
 * Contract of the strangler proxy's `GET /api/stats`: rolling per-route figures over a window (the whole fleet's,
 * merged, unless `?scope=process`). The proxy builds the body to these types; the migration dashboard (CDC
 * monitor) parses it with this schema at its edge.
 */

/** Rolling figures of one route and role (monolith or service). */
export const TargetStatsSchema = z.object({
  requests: z.number(),
  /** 5xx answers plus transport failures and timeouts (answered 502/504 by the proxy). */
  errors: z.number(),
  /** `errors / requests`, 0 without requests. */
  errorRate: z.number(),
  /** Latency percentiles in milliseconds (request arrival to end of the answer); `null` without requests. */
  p50Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
});
export type TargetStats = z.infer<typeof TargetStatsSchema>;

/** Shadow comparisons of one route in the window. */
export const ShadowStatsSchema = z.object({
  compared: z.number(),
  equal: z.number(),
  different: z.number(),
  serviceErrors: z.number(),
  /** Not compared, whatever the reason (the proxy's `GET /api/shadow` has them one by one). */
  skipped: z.number(),
  /** `equal / compared`; `null` without comparisons. */
  equalRate: z.number().nullable(),
});
export type ShadowStats = z.infer<typeof ShadowStatsSchema>;

/** Everything known about one route in the window. */
export const RouteWindowStatsSchema = z.object({
  monolith: TargetStatsSchema,
  service: TargetStatsSchema,
  shadow: ShadowStatsSchema,
  /** Requests answered by the fallback upstream instead of the route's own. */
  fallbacks: z.number(),
});
export type RouteWindowStats = z.infer<typeof RouteWindowStatsSchema>;

/** Body of `GET /api/stats`. */
export const StatsSnapshotSchema = z.object({
  windowSeconds: z.number(),
  routes: z.record(z.string(), RouteWindowStatsSchema),
});
export type StatsSnapshot = z.infer<typeof StatsSnapshotSchema>;
