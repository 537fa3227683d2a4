import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { createHttpMetrics, metricsOn } from '@warmhouse/service-kit';
import { APPLY_STAGES } from './sync/apply-stages';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** fine below 200 ms, where the freshness goal is (p99 ≤ 100 ms), so a stage's percentiles read off its buckets */
const STAGE_BUCKETS = [
  0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5,
];
const LAG_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300];

type Collector = () => Promise<number>;

/**
 * Prometheus metrics of one device-management process, in their own registry (no global state). Gauges that
 * come from the database (outbox backlog, write-backs in flight) are read at scrape time through collectors the
 * workers register.
 */
export function createMetrics({ defaultMetrics = false }: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  const m = metricsOn(registry);
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
    cdcEvents: m.counter(
      'device_management_cdc_events_total',
      'heating_systems change events handled, by op and result (created, updated, deleted, unchanged, stale, echo, ignored)',
      ['op', 'result'],
    ),
    cdcApplyLag: m.histogram(
      'device_management_cdc_apply_lag_seconds',
      'From the commit in the monolith (source.ts_ms) to the change being applied here',
      LAG_BUCKETS,
    ),
    cdcApplyStage: m.histogram(
      'device_management_cdc_apply_stage_seconds',
      'Set-based apply, per change: where the time from the monolith commit to the apply commit went, by stage (capture: to the Kafka record; queued: to its batch starting; apply: the batch transaction)',
      STAGE_BUCKETS,
      ['stage'],
    ),
    cdcLastApplyLag: m.gauge(
      'device_management_cdc_last_apply_lag_seconds',
      'Apply lag of the last streamed change event',
    ),
    cdcApplyTransactions: m.counter(
      'device_management_cdc_apply_transactions_total',
      'Set-based CDC apply transactions, by result (committed, failed: its changes were redone one by one)',
      ['result'],
    ),
    cdcApplyStatements: m.counter(
      'device_management_cdc_apply_statements_total',
      'SQL statements of set-based CDC apply transactions (besides BEGIN, the applied position and COMMIT)',
    ),
    cdcApplySeconds: m.counter(
      'device_management_cdc_apply_seconds_total',
      'Time spent in set-based CDC apply transactions, from BEGIN to COMMIT',
    ),
    cdcDeadLettered: gaugeFrom(
      'device_management_cdc_dead_lettered',
      'Change events this process dead-lettered since it started (malformed or rejected)',
    ),
    outboxPublished: m.counter(
      'device_management_outbox_published_total',
      'Domain events published from the outbox, by type',
      ['type'],
    ),
    outboxBacklog: gaugeFrom('device_management_outbox_backlog', 'Outbox rows not yet published'),
    outboxOldestAge: gaugeFrom(
      'device_management_outbox_oldest_unpublished_seconds',
      'Age of the oldest unpublished outbox row (0 when none)',
    ),
    writeBacks: m.counter(
      'device_management_write_backs_total',
      'Domain events handled by the write-back worker, by result (applied, no_change, duplicate, stale, not_ours, unknown)',
      ['result'],
    ),
    writeBacksInFlight: gaugeFrom(
      'device_management_write_backs_in_flight',
      'Local changes of legacy devices whose echo from the monolith has not come back yet',
    ),
    writeBacksOldestInFlight: gaugeFrom(
      'device_management_write_backs_oldest_in_flight_seconds',
      'Age of the oldest write-back still in flight (0 when none)',
    ),
    sagaTransitions: m.counter(
      'device_management_connect_saga_transitions_total',
      'Connect-device saga inputs handled, by input (reply type or timeout) and result (applied, ignored)',
      ['input', 'result'],
    ),
    sagaFinished: m.counter(
      'device_management_connect_sagas_finished_total',
      'Connect-device sagas finished, by state (completed, failed)',
      ['state'],
    ),
    /** Registers the function a database-backed gauge reads at scrape time. */
    collect(name: string, read: Collector) {
      collectors.set(name, read);
    },
  };
  // every stage is exposed from the start (at zero), so dashboards and alerts find the series before the first change
  for (const stage of APPLY_STAGES) metrics.cdcApplyStage.zero({ stage });
  return metrics;
}

export type DeviceMetrics = ReturnType<typeof createMetrics>;
