/**
 * Merging the workers' in-memory views into one answer for the admin API (pure functions over a {@link Gathered}).
 * Counters are summed; a state is the worst any worker is in (a client may reach any worker); with more than one
 * worker configured, every merged view says who answered (`workers`). With one worker the merge of its single
 * answer is that answer, unchanged.
 */
import {
  AggregatorRegistry,
  Counter,
  Gauge,
  type MetricObjectWithValues,
  type MetricValue,
  type Registry,
} from 'prom-client';

type AnyRegistry = ReturnType<typeof AggregatorRegistry.aggregate>;
import type { PinStats } from '../cdc/pins';
import type { BreakerState } from '../forward/breaker';
import type { ShadowCounters, ShadowDiff } from '../shadow/shadower';
import type { Gathered, MissingWorker, SlotInfo } from './link';

/** Who answered a merged view (only with more than one worker). */
export interface FleetNote {
  expected: number;
  answered: number;
  missing: MissingWorker[];
}

export type WithFleet<T> = T & { workers?: FleetNote };

function note<T>(g: Gathered<T>): { workers?: FleetNote } {
  if (g.expected <= 1) return {};
  return { workers: { expected: g.expected, answered: g.answers.length, missing: [...g.missing] } };
}

/** `a + b` field by field (a copy; `a` absent: a copy of `b`). */
function summed<T extends object>(a: T | null, b: T): T {
  return a === null ? { ...b } : (sumInto({ ...a } as Record<string, number>, b as Record<string, number>) as T);
}

function sumInto<K extends string>(into: Record<K, number>, add: Record<K, number>): Record<K, number> {
  for (const k of Object.keys(add) as K[]) into[k] = (into[k] ?? 0) + (add[k] ?? 0);
  return into;
}

// ---------------------------------------------------------------------------------------------------- shadow

/** `GET /api/shadow` of one worker. */
export interface ShadowView {
  routes: Record<string, ShadowCounters>;
  inFlight: number;
  /** The circuit of shadow copies per target upstream. */
  circuits: Record<string, BreakerView>;
}

export function mergeShadow(g: Gathered<ShadowView>): WithFleet<ShadowView> {
  const routes: Record<string, ShadowCounters> = {};
  let inFlight = 0;
  for (const { value } of g.answers) {
    inFlight += value.inFlight;
    for (const [id, c] of Object.entries(value.routes)) routes[id] = summed(routes[id] ?? null, c);
  }
  const circuits = mergeBreakers({
    ...g,
    answers: g.answers.map((a) => ({ ...a, value: { upstreams: a.value.circuits ?? {} } })),
  });
  return { routes, inFlight, circuits: circuits.upstreams, ...note(g) };
}

/** `GET /api/shadow/{id}` of one worker. */
export interface ShadowRouteView {
  route: string;
  mode: string;
  counters: ShadowCounters | null;
  diffs: ShadowDiff[];
}

/** Counters summed; the newest `keepDiffs` differences of all workers, oldest first (as one worker keeps them). */
export function mergeShadowRoute(g: Gathered<ShadowRouteView>, keepDiffs: number): WithFleet<ShadowRouteView> {
  const first = g.answers[0]?.value;
  let counters: ShadowCounters | null = null;
  const diffs: ShadowDiff[] = [];
  for (const { value } of g.answers) {
    if (value.counters) counters = summed(counters, value.counters);
    diffs.push(...value.diffs);
  }
  if (g.answers.length > 1) diffs.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return {
    route: first?.route ?? '',
    mode: first?.mode ?? '',
    counters,
    diffs: g.answers.length > 1 ? diffs.slice(Math.max(0, diffs.length - keepDiffs)) : diffs,
    ...note(g),
  };
}

// ---------------------------------------------------------------------------------------------------- breakers

export interface BreakerView {
  state: BreakerState;
  transitions: Record<BreakerState, number>;
}

/** `GET /api/breakers` of one worker. */
export interface BreakersView {
  upstreams: Record<string, BreakerView>;
}

const BREAKER_SEVERITY: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * Each worker has its own breaker per upstream (they open on the failures that worker saw). Merged: the worst state
 * (open > half-open > closed), transitions summed, and with several workers how many are in each state.
 */
export function mergeBreakers(
  g: Gathered<BreakersView>,
): WithFleet<{ upstreams: Record<string, BreakerView & { workers?: Record<BreakerState, number> }> }> {
  const multi = g.expected > 1;
  const upstreams: Record<string, BreakerView & { workers?: Record<BreakerState, number> }> = {};
  for (const { value } of g.answers) {
    for (const [name, b] of Object.entries(value.upstreams)) {
      const m = (upstreams[name] ??= {
        state: b.state,
        transitions: { closed: 0, open: 0, 'half-open': 0 },
        ...(multi ? { workers: { closed: 0, open: 0, 'half-open': 0 } } : {}),
      });
      if (BREAKER_SEVERITY[b.state] > BREAKER_SEVERITY[m.state]) m.state = b.state;
      sumInto(m.transitions, b.transitions);
      if (m.workers) m.workers[b.state]++;
    }
  }
  return { upstreams, ...note(g) };
}

// ---------------------------------------------------------------------------------------------------- CDC

/** One polled upstream in `GET /api/cdc` of one worker (each worker polls on its own). */
export interface CdcUpstreamView {
  url: string;
  ok: boolean;
  error: string | null;
  failures: number;
  polls: number;
  reportAgeMs: number | null;
  lagMs: Record<string, number | null>;
  report: unknown;
}

/** One CDC-aware route in `GET /api/cdc` of one worker. */
export interface CdcRouteView {
  tables: string[];
  source: string;
  maxLagMs: number;
  pinMs: number | null;
  state: string | null;
  counters: { service: number; source: Record<string, number>; pinned: number; cancelled: number; released?: number };
}

/** `GET /api/cdc` of one worker. */
export interface CdcView {
  settings: unknown;
  upstreams: Record<string, CdcUpstreamView>;
  routes: Record<string, CdcRouteView>;
  pins: PinStats | null;
}

const CDC_STATE_SEVERITY: Record<string, number> = { fresh: 0, lag: 1, unknown: 2 };
const severity = (state: string | null) => (state === null ? -1 : (CDC_STATE_SEVERITY[state] ?? 3));

/** The larger of two lags; unknown (null) wins, as the route treats it (reads go to the source). */
const worseLag = (a: number | null | undefined, b: number | null): number | null =>
  a === undefined ? b : a === null || b === null ? null : Math.max(a, b);

/**
 * Every worker polls each service's `/cdc/applied` and decides its own reads, so the merged view is the worst case a
 * client may meet: an upstream is `ok` only when every worker's report is fresh, its lag and report age are the
 * largest (unknown wins), failures the longest run, polls summed, `report` the newest any worker holds. A route's
 * `state` is the worst (unknown > lag > fresh), its counters and the pin counters are summed (each worker pins the
 * writes it answered; the pin store is per worker until pins move to the shared control store).
 */
export function mergeCdc(
  g: Gathered<CdcView>,
): WithFleet<CdcView & { routes: Record<string, CdcRouteView & { states?: Record<string, string | null> }> }> {
  const multi = g.expected > 1;
  const upstreams: Record<string, CdcUpstreamView> = {};
  const newest: Record<string, { ageMs: number; report: unknown }> = {};
  const routes: Record<string, CdcRouteView & { states?: Record<string, string | null> }> = {};
  let pins: PinStats | null = null;
  for (const { worker, value } of g.answers) {
    for (const [name, u] of Object.entries(value.upstreams)) {
      if (u.report !== null && u.reportAgeMs !== null && u.reportAgeMs < (newest[name]?.ageMs ?? Infinity))
        newest[name] = { ageMs: u.reportAgeMs, report: u.report };
      const m = upstreams[name];
      if (!m) {
        upstreams[name] = { ...u, lagMs: { ...u.lagMs } };
        continue;
      }
      m.ok = m.ok && u.ok;
      m.error = m.error ?? u.error;
      m.failures = Math.max(m.failures, u.failures);
      m.polls += u.polls;
      m.reportAgeMs = m.reportAgeMs === null || u.reportAgeMs === null ? null : Math.max(m.reportAgeMs, u.reportAgeMs);
      for (const [table, lag] of Object.entries(u.lagMs)) m.lagMs[table] = worseLag(m.lagMs[table], lag);
    }
    for (const [id, r] of Object.entries(value.routes)) {
      const m = routes[id];
      if (!m) {
        routes[id] = {
          ...r,
          counters: { ...r.counters, source: { ...r.counters.source } },
          ...(multi ? { states: { [String(worker.slot)]: r.state } } : {}),
        };
        continue;
      }
      if (severity(r.state) > severity(m.state)) m.state = r.state;
      m.counters.service += r.counters.service;
      m.counters.pinned += r.counters.pinned;
      m.counters.cancelled += r.counters.cancelled;
      if (r.counters.released !== undefined) m.counters.released = (m.counters.released ?? 0) + r.counters.released;
      sumInto(m.counters.source, r.counters.source);
      if (m.states) m.states[String(worker.slot)] = r.state;
    }
    if (value.pins) pins = summed(pins, value.pins);
  }
  for (const [name, n] of Object.entries(newest)) upstreams[name]!.report = n.report;
  const first = g.answers[0]?.value;
  return { settings: first?.settings ?? null, upstreams, routes, pins, ...note(g) };
}

// ---------------------------------------------------------------------------------------------------- metrics

/** Label every worker's series carries when several workers answer `/metrics`. */
export const WORKER_LABEL = 'worker';

/**
 * One exposition for the whole fleet: every worker's metrics with a `worker` label (its slot), so that no series is
 * counted twice and none is summed across workers by the proxy. Why labels rather than prom-client's summing
 * AggregatorRegistry: a sum drops whenever a worker is replaced (its counters restart at 0) or misses one scrape's
 * deadline, and Prometheus reads any drop as a counter reset, so `rate()` would jump by the whole surviving total;
 * per-worker series reset on their own, which Prometheus handles, and gauges stay meaningful (the table version each
 * worker serves, each worker's breaker state, memory per process). Queries sum over the label:
 * `sum by (route) (rate(strangler_requests_total[1m]))`. The registry also holds `strangler_workers` (configured,
 * answered) and `strangler_worker_restarts_total` per slot.
 */
export function mergeMetrics(g: Gathered<MetricObjectWithValues<MetricValue<string>>[]>): AnyRegistry {
  const labelled = g.answers.map(({ worker, value }) =>
    value.map((m) => ({
      ...m,
      // each value is alone under its labels now, so any aggregator keeps it; `first` also keeps those that
      // prom-client would `omit` in a sum (process_start_time_seconds: when each worker started)
      aggregator: 'first' as const,
      values: m.values.map((v) => ({ ...v, labels: { ...v.labels, [WORKER_LABEL]: String(worker.slot) } })),
    })),
  );
  const registry = AggregatorRegistry.aggregate(labelled as unknown as MetricObjectWithValues<MetricValue<string>>[][]);
  const workers = new Gauge({
    name: 'strangler_workers',
    help: 'Worker processes: configured (PROXY_WORKERS), and those that answered this scrape',
    labelNames: ['state'] as const,
    registers: [registry as Registry],
  });
  workers.set({ state: 'configured' }, g.expected);
  workers.set({ state: 'answered' }, g.answers.length);
  if (g.slots) addRestarts(registry, g.slots);
  return registry;
}

function addRestarts(registry: AnyRegistry, slots: readonly SlotInfo[]): void {
  // counted by the primary, so it only grows while the primary runs (a new primary starts again at 0)
  const restarts = new Counter({
    name: 'strangler_worker_restarts_total',
    help: 'Worker processes started to replace one that exited, by worker slot (kept by the primary)',
    labelNames: [WORKER_LABEL] as const,
    registers: [registry as Registry],
  });
  for (const s of slots) restarts.inc({ [WORKER_LABEL]: String(s.slot) }, s.restarts);
}

// ---------------------------------------------------------------------------------------------------- workers

/** What one worker says of itself (`GET /api/fleet/workers`). */
export interface WorkerSelf {
  slot: number;
  pid: number;
  /** the route table version this worker serves */
  tableVersion: number;
  /** requests this worker answered since it started */
  requests: number;
  uptimeSeconds: number;
  rssBytes: number;
}

/** One worker slot in `GET /api/fleet/workers`. */
export interface WorkerRow {
  slot: number;
  pid: number | null;
  state: SlotInfo['state'] | 'unknown';
  /** whether the worker answered this request (then the fields of {@link WorkerSelf} are there) */
  answered: boolean;
  /** the primary's view: when the slot's process started, how many replaced one that exited, the last exit */
  startedAt?: string | null;
  restarts?: number;
  lastExit?: SlotInfo['lastExit'];
  tableVersion?: number;
  requests?: number;
  uptimeSeconds?: number;
  rssBytes?: number;
  /** why the worker did not answer */
  reason?: string;
}

export interface FleetWorkers {
  expected: number;
  /** null with one worker (no primary), or when the primary did not answer */
  primaryPid: number | null;
  workers: WorkerRow[];
}

/** Every slot (the primary's view) joined with what its worker answered, by slot. */
export function mergeWorkers(g: Gathered<WorkerSelf>): FleetWorkers {
  const bySlot = new Map(g.answers.map((a) => [a.worker.slot, a.value]));
  const missing = new Map(g.missing.map((m) => [m.slot, m]));
  const slots: Array<{ slot: number; pid: number | null } & Partial<SlotInfo>> = g.slots
    ? g.slots.map((s) => ({ ...s }))
    : [
        ...g.answers.map((a) => ({ slot: a.worker.slot, pid: a.worker.pid })),
        ...g.missing.filter((m) => !bySlot.has(m.slot)).map((m) => ({ slot: m.slot, pid: m.pid })),
      ].sort((a, b) => a.slot - b.slot);
  return {
    expected: g.expected,
    primaryPid: g.primaryPid ?? null,
    workers: slots.map((s): WorkerRow => {
      const self = bySlot.get(s.slot);
      const m = missing.get(s.slot);
      return {
        ...s,
        state: s.state ?? (self ? 'ready' : 'unknown'),
        answered: self !== undefined,
        ...(self ?? {}),
        ...(m && !self ? { reason: m.reason } : {}),
      };
    }),
  };
}
