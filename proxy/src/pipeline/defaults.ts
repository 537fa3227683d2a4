import type { Logger } from '@warmhouse/shared';
import { CircuitBreakers } from '../forward/breaker';
import type { UpstreamPools } from '../forward/pools';
import { LOG_EVENTS } from '../log-events';
import type { ProxyMetrics } from '../metrics';
import { Shadower } from '../shadow/shadower';
import type { RouteStats } from '../stats/route-stats';

/** One circuit breaker per upstream with the table's settings; every state change is counted and logged. */
export function defaultBreakers({ metrics, log }: { metrics: ProxyMetrics; log: Logger }): CircuitBreakers {
  return new CircuitBreakers(undefined, (upstream, state) => {
    metrics.circuit(upstream, state);
    log.warn({ event: LOG_EVENTS.circuitChanged, upstream, state }, `circuit of ${upstream} is ${state}`);
  });
}

/** The shadow copier: results go to the metrics and the route statistics, circuit changes are counted and logged. */
export function defaultShadower(options: {
  pools: UpstreamPools;
  metrics: ProxyMetrics;
  stats: RouteStats;
  log: Logger;
  maxInFlight: number;
}): Shadower {
  const { pools, metrics, stats, log, maxInFlight } = options;
  return new Shadower({
    pools,
    logger: log,
    maxInFlight,
    onResult: (route, result) => {
      metrics.shadow(route, result);
      stats.shadow(route, result);
    },
    onCircuit: (upstream, state) => {
      metrics.shadowCircuit(upstream, state);
      log.warn(
        { event: LOG_EVENTS.shadowCircuitChanged, upstream, state },
        `circuit of shadow copies to ${upstream} is ${state}`,
      );
    },
  });
}
