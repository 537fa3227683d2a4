import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { createHttpMetrics } from '@warmhouse/service-kit';

/**
 * Every Prometheus metric of the service, in one registry per process (no global default registry, so tests can
 * create several apps). Names: `telemetry_` + what + unit suffix.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'telemetry_process_' });
  return {
    ...createHttpMetrics({ prefix: 'telemetry', registry }),
    readingsAccepted: new Counter({
      name: 'telemetry_readings_accepted_total',
      help: 'Readings acknowledged by the command log (acks=all), by source; the ingest rate is its rate()',
      labelNames: ['source'] as const,
      registers: [registry],
    }),
    readingsRejected: new Counter({
      name: 'telemetry_readings_rejected_total',
      help: 'Ingest requests refused before reaching the command log, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    ingestDuration: new Histogram({
      name: 'telemetry_ingest_append_duration_seconds',
      help: 'Time for the command log to acknowledge one POST (acks=all)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    projected: new Counter({
      name: 'telemetry_projected_readings_total',
      help: 'Command-log records applied to the read models: stored, or skipped as duplicates',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    projectionLag: new Histogram({
      name: 'telemetry_projection_lag_seconds',
      help: 'From the command log accepting a reading to the read models committing it',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    projectionWrite: new Histogram({
      name: 'telemetry_read_model_write_duration_seconds',
      help: 'One read-model transaction (raw history, latest, rollups, offsets) for one chunk of records',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    projectionErrors: new Counter({
      name: 'telemetry_projection_errors_total',
      help: 'Read-model transactions that failed and were retried',
      registers: [registry],
    }),
    deadLettered: new Counter({
      name: 'telemetry_dead_lettered_total',
      help: 'Records parked on a dead-letter topic, by origin (command log or CDC feed)',
      labelNames: ['origin'] as const,
      registers: [registry],
    }),
    offsetLag: new Gauge({
      name: 'telemetry_projection_offset_lag',
      help: 'Command-log records not yet applied to the read models, per partition (refreshed on scrape)',
      labelNames: ['partition'] as const,
      registers: [registry],
    }),
    retentionDeleted: new Counter({
      name: 'telemetry_retention_deleted_readings_total',
      help: 'Raw readings deleted by the retention sweep (older than their provisioned device keeps them)',
      registers: [registry],
    }),
    retentionSweeps: new Counter({
      name: 'telemetry_retention_sweeps_total',
      help: 'Retention sweep ticks, by result (ok, failed, skipped: another replica holds the sweep lease)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    cdcReadings: new Counter({
      name: 'telemetry_cdc_readings_total',
      help: 'Readings derived from monolith change events and appended to the command log, by table',
      labelNames: ['table'] as const,
      registers: [registry],
    }),
  };
}

export type TelemetryMetrics = ReturnType<typeof createMetrics>;
