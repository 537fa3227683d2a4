import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { createHttpMetrics } from '@warmhouse/service-kit';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LAG_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300];

type Collector = () => Promise<number>;

/**
 * Prometheus metrics of one device-management process, in their own registry (no global state). Gauges that
 * come from the database (outbox backlog, write-backs in flight) are read at scrape time through collectors the
 * workers register.
 */
export function createMetrics({ defaultMetrics = false }: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  const collectors = new Map<string, Collector>();
  const gaugeFrom = (name: string, help: string) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const read = collectors.get(name);
        if (read) this.set(await read().catch(() => NaN));
      },
    });
  if (defaultMetrics) collectDefaultMetrics({ register: registry });

  const metrics = {
    ...createHttpMetrics({ prefix: 'device_management', registry, buckets: LATENCY_BUCKETS }),
    cdcEvents: new Counter({
      name: 'device_management_cdc_events_total',
      help: 'heating_systems change events handled, by op and result (created, updated, deleted, unchanged, stale, echo, ignored)',
      labelNames: ['op', 'result'] as const,
      registers: [registry],
    }),
    cdcApplyLag: new Histogram({
      name: 'device_management_cdc_apply_lag_seconds',
      help: 'From the commit in the monolith (source.ts_ms) to the change being applied here',
      buckets: LAG_BUCKETS,
      registers: [registry],
    }),
    cdcLastApplyLag: new Gauge({
      name: 'device_management_cdc_last_apply_lag_seconds',
      help: 'Apply lag of the last streamed change event',
      registers: [registry],
    }),
    cdcApplyTransactions: new Counter({
      name: 'device_management_cdc_apply_transactions_total',
      help: 'Set-based CDC apply transactions, by result (committed, failed: its changes were redone one by one)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    cdcApplyStatements: new Counter({
      name: 'device_management_cdc_apply_statements_total',
      help: 'SQL statements of set-based CDC apply transactions (besides BEGIN, the applied position and COMMIT)',
      registers: [registry],
    }),
    cdcApplySeconds: new Counter({
      name: 'device_management_cdc_apply_seconds_total',
      help: 'Time spent in set-based CDC apply transactions, from BEGIN to COMMIT',
      registers: [registry],
    }),
    cdcDeadLettered: gaugeFrom(
      'device_management_cdc_dead_lettered',
      'Change events this process dead-lettered since it started (malformed or rejected)',
    ),
    outboxPublished: new Counter({
      name: 'device_management_outbox_published_total',
      help: 'Domain events published from the outbox, by type',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    outboxBacklog: gaugeFrom('device_management_outbox_backlog', 'Outbox rows not yet published'),
    outboxOldestAge: gaugeFrom(
      'device_management_outbox_oldest_unpublished_seconds',
      'Age of the oldest unpublished outbox row (0 when none)',
    ),
    writeBacks: new Counter({
      name: 'device_management_write_backs_total',
      help: 'Domain events handled by the write-back worker, by result (applied, no_change, duplicate, stale, not_ours, unknown)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    writeBacksInFlight: gaugeFrom(
      'device_management_write_backs_in_flight',
      'Local changes of legacy devices whose echo from the monolith has not come back yet',
    ),
    writeBacksOldestInFlight: gaugeFrom(
      'device_management_write_backs_oldest_in_flight_seconds',
      'Age of the oldest write-back still in flight (0 when none)',
    ),
    sagaTransitions: new Counter({
      name: 'device_management_connect_saga_transitions_total',
      help: 'Connect-device saga inputs handled, by input (reply type or timeout) and result (applied, ignored)',
      labelNames: ['input', 'result'] as const,
      registers: [registry],
    }),
    sagaFinished: new Counter({
      name: 'device_management_connect_sagas_finished_total',
      help: 'Connect-device sagas finished, by state (completed, failed)',
      labelNames: ['state'] as const,
      registers: [registry],
    }),
    /** Registers the function a database-backed gauge reads at scrape time. */
    collect(name: string, read: Collector) {
      collectors.set(name, read);
    },
  };
  return metrics;
}

export type DeviceMetrics = ReturnType<typeof createMetrics>;
