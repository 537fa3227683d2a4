import { Counter, Gauge, Registry, collectDefaultMetrics, type LabelValues, type Metric } from 'prom-client';
import type { ProxyStage } from './errors';

/** Latency buckets in seconds (1 ms .. 10 s). */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface RequestSeries {
  readonly route: string;
  readonly target: string;
  readonly status: string;
  count: number;
  sum: number;
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  readonly buckets: Float64Array;
}

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/**
 * Per-request counters kept in plain arrays and rendered only when Prometheus scrapes: prom-client's
 * labelled `inc`/`observe` re-validate and re-hash the labels on every call, which the forwarding hot path
 * should not pay. Exposed as two ordinary prom-client metrics (a counter and a histogram).
 */
class RequestStats {
  private readonly series = new Map<string, RequestSeries>();

  observe(route: string, target: string, status: number, seconds: number): void {
    const key = `${route}\u0000${target}\u0000${status}`;
    let s = this.series.get(key);
    if (s === undefined) {
      s = { route, target, status: String(status), count: 0, sum: 0, buckets: new Float64Array(BUCKETS.length + 1) };
      this.series.set(key, s);
    }
    s.count++;
    s.sum += seconds;
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    s.buckets[i]!++;
  }

  /** Requests answered so far, every route, target and status. */
  total(): number {
    let n = 0;
    for (const s of this.series.values()) n += s.count;
    return n;
  }

  counter(name: string, help: string): Metric {
    return this.metric(name, help, 'counter', () =>
      [...this.series.values()].map((s) => ({
        labels: { route: s.route, target: s.target, status: s.status },
        value: s.count,
      })),
    );
  }

  histogram(name: string, help: string): Metric {
    return this.metric(name, help, 'histogram', () => {
      const merged = new Map<
        string,
        { route: string; target: string; count: number; sum: number; buckets: Float64Array }
      >();
      for (const s of this.series.values()) {
        const key = `${s.route}\u0000${s.target}`;
        let m = merged.get(key);
        if (m === undefined) {
          m = { route: s.route, target: s.target, count: 0, sum: 0, buckets: new Float64Array(BUCKETS.length + 1) };
          merged.set(key, m);
        }
        m.count += s.count;
        m.sum += s.sum;
        for (let i = 0; i < m.buckets.length; i++) m.buckets[i]! += s.buckets[i]!;
      }
      const values: MetricValue[] = [];
      for (const m of merged.values()) {
        const labels = { route: m.route, target: m.target };
        let cumulative = 0;
        BUCKETS.forEach((le, i) => {
          cumulative += m.buckets[i]!;
          values.push({ labels: { ...labels, le }, value: cumulative, metricName: `${name}_bucket` });
        });
        values.push({ labels: { ...labels, le: '+Inf' }, value: m.count, metricName: `${name}_bucket` });
        values.push({ labels, value: m.sum, metricName: `${name}_sum` });
        values.push({ labels, value: m.count, metricName: `${name}_count` });
      }
      return values;
    });
  }

  private metric(name: string, help: string, type: 'counter' | 'histogram', values: () => MetricValue[]): Metric {
    const metric = {
      name,
      help,
      type,
      aggregator: 'sum',
      get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
      reset: () => this.series.clear(),
    };
    return metric as unknown as Metric;
  }
}

/** A counter or gauge of the proxy, set by the code that sees the event. */
interface MetricSpec {
  readonly type: 'counter' | 'gauge';
  readonly name: string;
  readonly help: string;
  readonly labels: readonly string[];
}

/** The proxy's plain counters and gauges (those computed when scraped are declared with their source below). */
const METRICS = {
  upstreamErrors: {
    type: 'counter',
    name: 'strangler_upstream_errors_total',
    help: 'Forwarding failures, by target upstream, stage and error code',
    labels: ['target', 'stage', 'code'],
  },
  tableVersion: {
    type: 'gauge',
    name: 'strangler_route_table_version',
    help: 'Version of the route table in force',
    labels: [],
  },
  controlStore: {
    type: 'gauge',
    name: 'strangler_control_store',
    help: 'Control store state of this process: reachable (1/0) and serving_routes_file (1 while the store has not been reached since start-up)',
    labels: ['state'],
  },
  tableChanges: {
    type: 'counter',
    name: 'strangler_route_table_changes_total',
    help: 'Route table changes, by source and result (applied or rejected)',
    labels: ['source', 'result'],
  },
  fallbacks: {
    type: 'counter',
    name: 'strangler_fallbacks_total',
    help: 'Safe requests answered by the fallback upstream, by route, failed upstream, fallback and reason',
    labels: ['route', 'from', 'to', 'reason'],
  },
  breakerState: {
    type: 'gauge',
    name: 'strangler_circuit_state',
    help: 'Circuit breaker state by upstream: 0 closed, 1 half-open, 2 open',
    labels: ['upstream'],
  },
  breakerTransitions: {
    type: 'counter',
    name: 'strangler_circuit_transitions_total',
    help: 'Circuit breaker transitions, by upstream and new state',
    labels: ['upstream', 'state'],
  },
  shadowCircuitState: {
    type: 'gauge',
    name: 'strangler_shadow_circuit_state',
    help: 'Circuit of shadow copies by target upstream: 0 closed, 1 half-open, 2 open (no copies but probes)',
    labels: ['upstream'],
  },
  shadowCircuitTransitions: {
    type: 'counter',
    name: 'strangler_shadow_circuit_transitions_total',
    help: 'Transitions of the shadow copies circuit, by target upstream and new state',
    labels: ['upstream', 'state'],
  },
  shadowResults: {
    type: 'counter',
    name: 'strangler_shadow_total',
    help: 'Shadowed requests by route and result (compared, equal, different, serviceErrors; not copied: skipped, sampledOut, overBudget, breakerOpen, dropped; not compared: tooLarge, notCompared)',
    labels: ['route', 'result'],
  },
  cdcReadCounts: {
    type: 'counter',
    name: 'strangler_cdc_reads_total',
    help: 'Reads of CDC-aware routes by route, who served them (service or source) and why (fresh, lag, unknown, pinned)',
    labels: ['route', 'served', 'reason'],
  },
  cdcPinCounts: {
    type: 'counter',
    name: 'strangler_cdc_pins_total',
    help: "Read-your-writes pins by route and result (pinned: a write answered 2xx by the source; cancelled: any other answer from the source; released: a write sent to the service dropped its key's pins)",
    labels: ['route', 'result'],
  },
  cdcPollFailures: {
    type: 'counter',
    name: 'strangler_cdc_applied_poll_failures_total',
    help: 'Failed polls of an upstream /cdc/applied',
    labels: ['upstream'],
  },
} as const satisfies Record<string, MetricSpec>;

type LabelsOf<S extends MetricSpec> = S['labels'][number];
type MetricsOf<T extends Record<string, MetricSpec>> = {
  readonly [K in keyof T]: T[K]['type'] extends 'counter' ? Counter<LabelsOf<T[K]>> : Gauge<LabelsOf<T[K]>>;
};

/** Creates every metric of `specs` in `registry`, under the same keys. */
function registerMetrics<T extends Record<string, MetricSpec>>(registry: Registry, specs: T): MetricsOf<T> {
  const entries = Object.entries(specs).map(([key, spec]) => {
    const config = { name: spec.name, help: spec.help, labelNames: spec.labels, registers: [registry] };
    return [key, spec.type === 'counter' ? new Counter(config) : new Gauge(config)];
  });
  return Object.fromEntries(entries) as MetricsOf<T>;
}

/** A gauge whose series are replaced, each time it is scraped, by those `read` returns (stale ones disappear). */
function scrapedGauge<L extends string>(
  registry: Registry,
  spec: { name: string; help: string; labels: readonly L[] },
  read: () => ReadonlyArray<readonly [LabelValues<L>, number]>,
): Gauge<L> {
  const gauge: Gauge<L> = new Gauge<L>({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labels,
    registers: [registry],
    collect: () => {
      gauge.reset();
      for (const [labels, value] of read()) gauge.set(labels, value);
    },
  });
  return gauge;
}

/**
 * Prometheus metrics of one proxy, in its own registry (no global state): requests by route, target and
 * status, latency histograms by route and target, upstream errors by stage, in-flight requests, the table
 * version and changes.
 */
export class ProxyMetrics {
  readonly registry = new Registry();
  private readonly m = registerMetrics(this.registry, METRICS);
  private readonly stats = new RequestStats();
  private readonly flights = new Map<string, { n: number; inc(): void; dec(): void }>();
  private readonly inFlight: Gauge<'target'> = new Gauge({
    name: 'strangler_requests_in_flight',
    help: 'Requests being forwarded now, by target upstream',
    labelNames: ['target'] as const,
    registers: [this.registry],
    collect: () => {
      for (const [target, f] of this.flights) this.inFlight.set({ target }, f.n);
    },
  });
  private cdcGauges: () => { pinnedKeys: number; lag: Array<{ upstream: string; table: string; seconds: number }> } =
    () => ({ pinnedKeys: 0, lag: [] });
  private readonly cdcPinnedKeys: Gauge = new Gauge({
    name: 'strangler_cdc_pinned_keys',
    help: 'Keys pinned to the source by read-your-writes now',
    registers: [this.registry],
    collect: () => this.cdcPinnedKeys.set(this.cdcGauges().pinnedKeys),
  });
  private readonly cdcLag = scrapedGauge(
    this.registry,
    {
      name: 'strangler_cdc_lag_seconds',
      help: 'Replication lag of a source table at a service, as its /cdc/applied reports it (absent: unknown)',
      labels: ['upstream', 'table'],
    },
    () => this.cdcGauges().lag.map((l) => [{ upstream: l.upstream, table: l.table }, l.seconds] as const),
  );
  private planSource: () => ReadonlyArray<{ route: string; status: string }> = () => [];
  private readonly planStatus = scrapedGauge(
    this.registry,
    {
      name: 'strangler_route_plan_status',
      help: 'Status of each route plan in the table this process serves: value 1 with label status (active, paused, done, rolled-back)',
      labels: ['route', 'status'],
    },
    () => this.planSource().map((p) => [{ route: p.route, status: p.status }, 1] as const),
  );
  constructor(options: { defaultMetrics?: boolean } = {}) {
    this.registry.registerMetric(
      this.stats.counter('strangler_requests_total', 'Requests answered, by route id, target upstream and HTTP status'),
    );
    this.registry.registerMetric(
      this.stats.histogram(
        'strangler_request_duration_seconds',
        'Time from receiving the request head to the end of the response, by route and target',
      ),
    );
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Records one answered request. */
  observe(route: string, target: string, status: number, seconds: number): void {
    this.stats.observe(route, target, status, seconds);
  }

  /** Requests this process answered so far (the sum of `strangler_requests_total`). */
  requestsAnswered(): number {
    return this.stats.total();
  }

  /** The in-flight counter of an upstream (read when scraped). */
  flight(target: string): { inc(): void; dec(): void } {
    let f = this.flights.get(target);
    if (f === undefined) {
      const counter = {
        n: 0,
        inc: () => {
          counter.n++;
        },
        dec: () => {
          counter.n--;
        },
      };
      f = counter;
      this.flights.set(target, f);
    }
    return f;
  }

  upstreamError(target: string, stage: ProxyStage, code: string): void {
    this.m.upstreamErrors.labels(target, stage, code).inc();
  }

  /** A safe request answered by the fallback; `reason`: `status 503`, an error code, or `circuit-open`. */
  fallback(route: string, from: string, to: string, reason: string): void {
    this.m.fallbacks.labels(route, from, to, reason).inc();
  }

  circuit(upstream: string, state: 'closed' | 'half-open' | 'open'): void {
    this.m.breakerState.labels(upstream).set(state === 'closed' ? 0 : state === 'half-open' ? 1 : 2);
    this.m.breakerTransitions.labels(upstream, state).inc();
  }

  /** The circuit of shadow copies to `upstream` changed state. */
  shadowCircuit(upstream: string, state: 'closed' | 'half-open' | 'open'): void {
    this.m.shadowCircuitState.labels(upstream).set(state === 'closed' ? 0 : state === 'half-open' ? 1 : 2);
    this.m.shadowCircuitTransitions.labels(upstream, state).inc();
  }

  shadow(route: string, result: string): void {
    this.m.shadowResults.labels(route, result).inc();
  }

  /** A read of a CDC-aware route: served by the service (`fresh`) or by the source (`lag`, `unknown`, `pinned`). */
  cdcRead(route: string, served: 'service' | 'source', reason: string): void {
    this.m.cdcReadCounts.labels(route, served, reason).inc();
  }

  cdcPin(route: string, result: 'pinned' | 'cancelled' | 'released'): void {
    this.m.cdcPinCounts.labels(route, result).inc();
  }

  cdcPollFailed(upstream: string): void {
    this.m.cdcPollFailures.labels(upstream).inc();
  }

  /** Where the CDC gauges are read when scraped. */
  cdcGaugeSource(
    source: () => { pinnedKeys: number; lag: Array<{ upstream: string; table: string; seconds: number }> },
  ): void {
    this.cdcGauges = source;
  }

  /** Where the plan status gauge is read when scraped (the routes with a plan in the table served). */
  planStatusSource(source: () => ReadonlyArray<{ route: string; status: string }>): void {
    this.planSource = source;
  }

  tableApplied(version: number, source: string): void {
    this.m.tableVersion.set(version);
    this.m.tableChanges.labels(source, 'applied').inc();
  }

  tableRejected(source: string): void {
    this.m.tableChanges.labels(source, 'rejected').inc();
  }

  /** Whether the control store is reachable, and whether this process serves the routes file for want of it. */
  controlStoreState(state: { reachable: boolean; servingRoutesFile: boolean }): void {
    this.m.controlStore.labels('reachable').set(state.reachable ? 1 : 0);
    this.m.controlStore.labels('serving_routes_file').set(state.servingRoutesFile ? 1 : 0);
  }

  setTableVersion(version: number): void {
    this.m.tableVersion.set(version);
  }
}
