import { Registry, collectDefaultMetrics } from 'prom-client';
import { createHttpMetrics, metricsOn } from '@warmhouse/service-kit';

/**
 * Every Prometheus metric of the service, in one registry per process (no global default registry, so tests can
 * create several apps). Names: `telemetry_` + what + unit suffix.
 */
export function createMetrics() {
  const registry = new Registry();
  const m = metricsOn(registry);
  collectDefaultMetrics({ register: registry, prefix: 'telemetry_process_' });
  return {
    ...createHttpMetrics({ prefix: 'telemetry', registry }),
    readingsAccepted: m.counter(
      'telemetry_readings_accepted_total',
      'Readings acknowledged by the command log (acks=all), by source; the ingest rate is its rate()',
      ['source'],
    ),
    readingsRejected: m.counter(
      'telemetry_readings_rejected_total',
      'Ingest requests refused before reaching the command log, by reason',
      ['reason'],
    ),
    ingestDuration: m.histogram(
      'telemetry_ingest_append_duration_seconds',
      'Time for the command log to acknowledge one POST (acks=all)',
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    ),
    projected: m.counter(
      'telemetry_projected_readings_total',
      'Command-log records applied to the read models: stored, or skipped as duplicates',
      ['result'],
    ),
    projectionLag: m.histogram(
      'telemetry_projection_lag_seconds',
      'From the command log accepting a reading to the read models committing it',
      [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    ),
    projectionWrite: m.histogram(
      'telemetry_read_model_write_duration_seconds',
      'One read-model transaction (raw history, latest, rollups, offsets) for one chunk of records',
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    ),
    projectionErrors: m.counter(
      'telemetry_projection_errors_total',
      'Read-model transactions that failed and were retried',
    ),
    deadLettered: m.counter(
      'telemetry_dead_lettered_total',
      'Records parked on a dead-letter topic, by origin (command log or CDC feed)',
      ['origin'],
    ),
    offsetLag: m.gauge(
      'telemetry_projection_offset_lag',
      'Command-log records not yet applied to the read models, per partition (refreshed on scrape)',
      ['partition'],
    ),
    retentionDeleted: m.counter(
      'telemetry_retention_deleted_readings_total',
      'Raw readings deleted by the retention sweep (older than their provisioned device keeps them)',
    ),
    retentionSweeps: m.counter(
      'telemetry_retention_sweeps_total',
      'Retention sweep ticks, by result (ok, failed, skipped: another replica holds the sweep lease)',
      ['result'],
    ),
    cdcReadings: m.counter(
      'telemetry_cdc_readings_total',
      'Readings derived from monolith change events and appended to the command log, by table',
      ['table'],
    ),
  };
}

export type TelemetryMetrics = ReturnType<typeof createMetrics>;
