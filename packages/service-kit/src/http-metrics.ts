import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The HTTP metrics every service exports: `<prefix>_http_requests_total` and `<prefix>_http_request_duration_seconds`. */
export interface HttpMetrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
}

export const HTTP_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Registers a service's HTTP metrics on its registry (route labels are low-cardinality names, never raw paths). */
export function createHttpMetrics({
  prefix,
  registry,
  buckets = HTTP_LATENCY_BUCKETS,
}: {
  prefix: string;
  registry: Registry;
  buckets?: number[];
}): HttpMetrics {
  return {
    registry,
    httpRequests: new Counter({
      name: `${prefix}_http_requests_total`,
      help: 'HTTP requests answered, by method, route and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: `${prefix}_http_request_duration_seconds`,
      help: 'HTTP request duration, by method and route',
      labelNames: ['method', 'route'] as const,
      buckets,
      registers: [registry],
    }),
  };
}

/**
 * Metric constructors bound to one registry, so a service lists each metric as its name, help and labels:
 * `counter(name, help, labels?)`, `gauge(name, help, labels?)`, `histogram(name, help, buckets, labels?)`.
 */
export function metricsOn(registry: Registry) {
  return {
    counter: <L extends string = never>(name: string, help: string, labelNames: readonly L[] = []) =>
      new Counter<L>({ name, help, labelNames, registers: [registry] }),
    gauge: <L extends string = never>(name: string, help: string, labelNames: readonly L[] = []) =>
      new Gauge<L>({ name, help, labelNames, registers: [registry] }),
    histogram: <L extends string = never>(
      name: string,
      help: string,
      buckets: number[],
      labelNames: readonly L[] = [],
    ) => new Histogram<L>({ name, help, labelNames, buckets, registers: [registry] }),
  };
}
