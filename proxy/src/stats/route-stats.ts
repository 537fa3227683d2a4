import * as hdr from 'hdr-histogram-js';
// The wire contract of `GET /api/stats` (one schema, parsed by the dashboard at its edge).
import type { RouteWindowStats, ShadowStats, StatsSnapshot, TargetStats } from '@warmhouse/messaging';
import type { RouteSpec, TableSpec } from '../table/schema';

export type { RouteWindowStats, ShadowStats, StatsSnapshot, TargetStats };

/** Role of the upstream that answered a request of a route. */
export type Role = 'monolith' | 'service';

/** Shadow outcomes as the shadower reports them. */
export type ShadowResult =
  | 'compared'
  | 'equal'
  | 'different'
  | 'serviceErrors'
  | 'skipped'
  | 'sampledOut'
  | 'overBudget'
  | 'breakerOpen'
  | 'dropped'
  | 'tooLarge'
  | 'notCompared';

/** Results that mean "not compared", whatever the reason: one `skipped` counter in the route statistics. */
const NOT_COMPARED: ReadonlySet<ShadowResult> = new Set([
  'sampledOut',
  'overBudget',
  'breakerOpen',
  'dropped',
  'tooLarge',
  'notCompared',
]);

/** Cumulative (never windowed) shadow counters of a route, for "since the step began" evidence. */
export type ShadowTotals = Omit<ShadowStats, 'equalRate'>;

interface TargetAcc {
  requests: number;
  errors: number;
  /** Microseconds; created on first use. */
  histogram: hdr.Histogram | undefined;
}

interface RouteAcc {
  monolith: TargetAcc;
  service: TargetAcc;
  shadow: ShadowTotals;
  fallbacks: number;
}

interface Bucket {
  /** Start of the bucket, ms since the epoch (a multiple of the bucket length). */
  start: number;
  routes: Map<string, RouteAcc>;
}

/**
 * 1 µs to 1 hour, two significant digits (1 % error), 32-bit counts: 14 KiB each, created on a route's first answer
 * from a side in a bucket (so at most 13 × 2 per busy route, ~360 KiB). Packed (sparse) histograms would be smaller
 * but merge about 20 times slower, and a snapshot merges every bucket.
 */
function newHistogram(): hdr.Histogram {
  return hdr.build({
    bitBucketSize: 32,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 2,
    useWebAssembly: false,
  });
}

export function emptyShadow(): ShadowTotals {
  return { compared: 0, equal: 0, different: 0, serviceErrors: 0, skipped: 0 };
}

/** Shadow counters `a` minus `b` (since a step began), or plus (`sign` 1: several processes added up). */
export function combineShadow(a: ShadowTotals, b: ShadowTotals, sign: 1 | -1): ShadowTotals {
  const out = emptyShadow();
  for (const k of Object.keys(out) as Array<keyof ShadowTotals>) out[k] = a[k] + sign * b[k];
  return out;
}

function emptyRoute(): RouteAcc {
  return {
    monolith: { requests: 0, errors: 0, histogram: undefined },
    service: { requests: 0, errors: 0, histogram: undefined },
    shadow: emptyShadow(),
    fallbacks: 0,
  };
}

function shadowKey(result: ShadowResult): keyof ShadowTotals {
  return NOT_COMPARED.has(result) ? 'skipped' : (result as keyof ShadowTotals);
}

/**
 * The upstream playing the monolith for a route: the baseline of its canary or shadow settings when the mode
 * uses them, else the table's default target. Every other upstream answering the route is the "service".
 */
export function monolithOf(route: RouteSpec, defaultTarget: string): string {
  if (route.mode === 'canary' && route.canary?.baseline) return route.canary.baseline;
  if (route.mode === 'shadow' && route.shadow?.baseline) return route.shadow.baseline;
  return defaultTarget;
}

/** Role of `upstream` on `route` (routes outside the table: the default target is the monolith). */
export function roleOf(route: RouteSpec | undefined, upstream: string, table: Pick<TableSpec, 'defaultTarget'>): Role {
  return upstream === (route ? monolithOf(route, table.defaultTarget) : table.defaultTarget) ? 'monolith' : 'service';
}

/**
 * Per-route, per-role rolling statistics over a sliding window, kept as a ring of time buckets (the window is
 * `buckets` buckets of `windowSeconds / buckets` each; a snapshot merges the buckets inside the window, so the
 * window slides in bucket steps). Latency percentiles come from HdrHistogram (hdr-histogram-js): mergeable,
 * bounded relative error, constant-time recording — unlike prom-client's summaries, which cannot be merged or
 * cut at an arbitrary start, and its histograms, whose fixed buckets are too coarse for a p99 gate.
 */
export class RouteStats {
  readonly bucketMs: number;
  private readonly ring: Bucket[] = [];
  private readonly totals = new Map<string, ShadowTotals>();

  constructor(
    readonly windowSeconds = 60,
    private readonly buckets = 12,
    private readonly now: () => number = Date.now,
  ) {
    this.bucketMs = Math.max(1, Math.floor((windowSeconds * 1000) / buckets));
  }

  /** One request answered (or failed) by an upstream of a route. Client aborts should not be recorded. */
  request(routeId: string, role: Role, durationMs: number, failed: boolean): void {
    const acc = this.current(routeId)[role];
    acc.requests++;
    if (failed) acc.errors++;
    (acc.histogram ??= newHistogram()).recordValue(Math.max(1, Math.round(durationMs * 1000)));
  }

  /** One shadow outcome (`equal`/`different` come with a `compared` of their own). */
  shadow(routeId: string, result: ShadowResult): void {
    const key = shadowKey(result);
    this.current(routeId).shadow[key]++;
    let t = this.totals.get(routeId);
    if (!t) this.totals.set(routeId, (t = emptyShadow()));
    t[key]++;
  }

  /** One request answered by the fallback upstream. */
  fallback(routeId: string): void {
    this.current(routeId).fallbacks++;
  }

  /** Shadow counters of a route since the process started. */
  shadowTotals(routeId: string): ShadowTotals {
    return { ...(this.totals.get(routeId) ?? emptyShadow()) };
  }

  /**
   * Figures of one route over the window; with `sinceMs`, only buckets that began at or after it (so evidence
   * of a migration step never mixes in the step before; up to one bucket of data is left out).
   */
  route(routeId: string, sinceMs?: number): RouteWindowStats {
    return view(this.merged(routeId, sinceMs));
  }

  /** The route's buckets inside the window (and from `sinceMs` on), added up. */
  private merged(routeId: string, sinceMs?: number): RouteAcc {
    const oldest = this.now() - this.windowSeconds * 1000;
    const merged = emptyRoute();
    for (const b of this.ring) {
      if (b.start + this.bucketMs <= oldest || (sinceMs !== undefined && b.start < sinceMs)) continue;
      const r = b.routes.get(routeId);
      if (r) addRoute(merged, r);
    }
    return merged;
  }

  /**
   * The same figures as {@link route}, as parts another process can merge with its own: counts, and the latency
   * histograms encoded (HdrHistogram's compressed base64).
   */
  windowParts(routeId: string, sinceMs?: number): WindowParts {
    const merged = this.merged(routeId, sinceMs);
    const part = (t: TargetAcc): TargetParts => ({
      requests: t.requests,
      errors: t.errors,
      histogram: t.histogram && t.histogram.totalCount > 0 ? hdr.encodeIntoCompressedBase64(t.histogram) : null,
    });
    return { monolith: part(merged.monolith), service: part(merged.service), fallbacks: merged.fallbacks };
  }

  /** Every route seen in the window plus `routeIds` (zeros when quiet). */
  snapshot(routeIds: readonly string[] = []): StatsSnapshot {
    const ids = new Set(routeIds);
    const oldest = this.now() - this.windowSeconds * 1000;
    for (const b of this.ring) if (b.start + this.bucketMs > oldest) for (const id of b.routes.keys()) ids.add(id);
    const routes: Record<string, RouteWindowStats> = {};
    for (const id of ids) routes[id] = this.route(id);
    return { windowSeconds: this.windowSeconds, routes };
  }

  private current(routeId: string): RouteAcc {
    const now = this.now();
    const start = now - (now % this.bucketMs);
    let bucket = this.ring[this.ring.length - 1];
    if (!bucket || bucket.start !== start) {
      bucket = { start, routes: new Map() };
      this.ring.push(bucket);
      // one extra bucket: the oldest is partly inside the window until the next one starts
      const oldest = now - this.windowSeconds * 1000 - this.bucketMs;
      while (this.ring.length > 0 && this.ring[0]!.start < oldest) this.ring.shift();
    }
    let r = bucket.routes.get(routeId);
    if (!r) bucket.routes.set(routeId, (r = emptyRoute()));
    return r;
  }
}

/** One side of a route's window as a process publishes it for the fleet. */
export interface TargetParts {
  requests: number;
  errors: number;
  /** Latency histogram (µs), HdrHistogram compressed base64; `null` without requests. */
  histogram: string | null;
}

/** A route's window as a process publishes it for the fleet (shadow counts travel on their own). */
export interface WindowParts {
  monolith: TargetParts;
  service: TargetParts;
  fallbacks: number;
}

/** The fleet's figures of a route: every process's window parts merged (histograms added), with shadow totals. */
export function mergeWindowParts(parts: readonly WindowParts[], shadow: ShadowTotals): RouteWindowStats {
  const merged = emptyRoute();
  const add = (into: TargetAcc, from: TargetParts) => {
    into.requests += from.requests;
    into.errors += from.errors;
    if (from.histogram) {
      const h = hdr.decodeFromCompressedBase64(from.histogram, 32, false);
      (into.histogram ??= newHistogram()).add(h);
      h.destroy();
    }
  };
  for (const p of parts) {
    add(merged.monolith, p.monolith);
    add(merged.service, p.service);
    merged.fallbacks += p.fallbacks;
  }
  merged.shadow = { ...shadow };
  return view(merged);
}

function addTarget(into: TargetAcc, from: TargetAcc): void {
  into.requests += from.requests;
  into.errors += from.errors;
  if (from.histogram) (into.histogram ??= newHistogram()).add(from.histogram);
}

function addRoute(into: RouteAcc, from: RouteAcc): void {
  addTarget(into.monolith, from.monolith);
  addTarget(into.service, from.service);
  for (const k of Object.keys(into.shadow) as Array<keyof ShadowTotals>) into.shadow[k] += from.shadow[k];
  into.fallbacks += from.fallbacks;
}

function ms(h: hdr.Histogram | undefined, percentile: number): number | null {
  if (!h || h.totalCount === 0) return null;
  return Math.round(h.getValueAtPercentile(percentile)) / 1000;
}

function targetView(t: TargetAcc): TargetStats {
  return {
    requests: t.requests,
    errors: t.errors,
    errorRate: t.requests === 0 ? 0 : t.errors / t.requests,
    p50Ms: ms(t.histogram, 50),
    p99Ms: ms(t.histogram, 99),
  };
}

function view(r: RouteAcc): RouteWindowStats {
  return {
    monolith: targetView(r.monolith),
    service: targetView(r.service),
    shadow: { ...r.shadow, equalRate: r.shadow.compared === 0 ? null : r.shadow.equal / r.shadow.compared },
    fallbacks: r.fallbacks,
  };
}
