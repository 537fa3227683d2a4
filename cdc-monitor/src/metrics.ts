import { Gauge, Registry } from 'prom-client';
import type { CdcSnapshot } from './monitor';

/**
 * Every metric the monitor exports (all gauges), with its label names and help text. The alerting rules in cdc-monitor/alerts/ may only use these
 * names (a unit test checks it).
 */
export const CDC_METRICS = {
  cdc_monitor_healthy: {
    labels: [],
    help: 'Whole CDC picture healthy (1) or not (0): connectors, slots, lag check, heartbeat, freshness.',
  },
  cdc_connect_reachable: {
    labels: ['connector'],
    help: 'Kafka Connect REST API answered for this connector (1) or was unreachable (0).',
  },
  cdc_connector_running: {
    labels: ['connector'],
    help: 'Connector RUNNING with every task RUNNING (1), otherwise 0; 0 when Connect is unreachable.',
  },
  cdc_connector_state: {
    labels: ['connector', 'state'],
    help: 'Current state of the connector (label state, value 1): RUNNING, FAILED, PAUSED, UNREACHABLE…',
  },
  cdc_connector_task_running: {
    labels: ['connector', 'task'],
    help: 'Task RUNNING (1) or not (0), per connector and task id.',
  },
  cdc_replication_slot_present: { labels: ['slot'], help: 'Replication slot exists (1) or is missing (0).' },
  cdc_replication_slot_active: { labels: ['slot'], help: 'Replication slot has a streaming consumer (1) or not (0).' },
  cdc_replication_slot_wal_lost: {
    labels: ['slot'],
    help: 'Replication slot wal_status is lost (1): recreate and re-snapshot.',
  },
  cdc_replication_slot_retained_wal_bytes: {
    labels: ['slot'],
    help: 'WAL retained for the slot: pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn).',
  },
  cdc_replication_slot_flush_lag_bytes: {
    labels: ['slot'],
    help: 'pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn).',
  },
  cdc_consumer_lag_messages: {
    labels: ['group', 'topic', 'partition'],
    help: 'Messages not yet consumed: end offset − committed offset, per group/topic/partition.',
  },
  cdc_consumer_group_lag_messages: { labels: ['group'], help: 'Sum of cdc_consumer_lag_messages over a group.' },
  cdc_table_freshness_seconds: {
    labels: ['topic', 'table'],
    help: 'now − source commit time of the last change on the table’s CDC topic.',
  },
  cdc_heartbeat_age_seconds: {
    labels: [],
    help: 'now − beat_at of public.cdc_heartbeat (written every heartbeat.interval.ms, 1 s, by Debezium).',
  },
  cdc_drift_rows: {
    labels: ['table', 'copy'],
    help: 'Rows differing between a table and a service copy in the last drift check (missing, extra, different).',
  },
  cdc_drift_last_check_timestamp_seconds: {
    labels: ['table', 'copy'],
    help: 'When the last drift check of a table and a service copy ran, seconds since epoch.',
  },
  cdc_monitor_check_ok: {
    labels: ['check'],
    help: 'A check ran (1) or failed to run (0), label check: slots, lag, heartbeat, probe (last write).',
  },
  cdc_probe_latency_seconds: {
    labels: ['service'],
    help: 'Last heartbeat probe applied by the service: its appliedAtMs − the probe transaction start (database clock).',
  },
  cdc_probe_observed_seconds: {
    labels: ['service'],
    help: 'Last heartbeat probe, monitor clock: written → first seen applied (upper bound, as fine as the poll period).',
  },
  cdc_probe_pending: { labels: ['service'], help: 'Heartbeat probes written and not yet applied by the service.' },
  cdc_probe_oldest_pending_seconds: {
    labels: ['service'],
    help: 'Age of the oldest heartbeat probe the service has not applied (0 when none).',
  },
  cdc_probe_service_reachable: {
    labels: ['service'],
    help: 'The service answered GET /cdc/applied (1) or not (0) the last time it was asked.',
  },
  cdc_probe_last_write_timestamp_seconds: {
    labels: [],
    help: 'When the monitor last wrote a heartbeat probe, seconds since epoch.',
  },
} as const;

/** One of the exported metric names. */
export type CdcMetricName = keyof typeof CDC_METRICS;

/** A registry whose gauges are re-set from each snapshot (stale series disappear). */
export function createMetrics() {
  const registry = new Registry();
  const g = Object.fromEntries(
    Object.entries(CDC_METRICS).map(([name, { help, labels }]) => [
      name,
      new Gauge({ name, help, labelNames: labels, registers: [registry] }),
    ]),
  ) as { [N in CdcMetricName]: Gauge<(typeof CDC_METRICS)[N]['labels'][number]> };

  return {
    registry,
    /** Replaces every series with the values of `s`. */
    update(s: CdcSnapshot): void {
      for (const x of Object.values(g)) x.reset();
      g.cdc_monitor_healthy.set(s.healthy ? 1 : 0);
      for (const c of s.connectors) {
        g.cdc_connect_reachable.set({ connector: c.name }, c.reachable ? 1 : 0);
        g.cdc_connector_running.set({ connector: c.name }, c.healthy ? 1 : 0);
        g.cdc_connector_state.set({ connector: c.name, state: c.state }, 1);
        for (const t of c.tasks)
          g.cdc_connector_task_running.set({ connector: c.name, task: String(t.id) }, t.state === 'RUNNING' ? 1 : 0);
      }
      g.cdc_monitor_check_ok.set({ check: 'slots' }, s.slots.ok ? 1 : 0);
      g.cdc_monitor_check_ok.set({ check: 'lag' }, s.lag.ok ? 1 : 0);
      g.cdc_monitor_check_ok.set({ check: 'heartbeat' }, s.heartbeat.ok ? 1 : 0);
      if (s.slots.ok) {
        for (const slot of s.slots.value) {
          g.cdc_replication_slot_present.set({ slot: slot.name }, slot.present ? 1 : 0);
          g.cdc_replication_slot_active.set({ slot: slot.name }, slot.active ? 1 : 0);
          g.cdc_replication_slot_wal_lost.set({ slot: slot.name }, slot.walStatus === 'lost' ? 1 : 0);
          if (slot.retainedWalBytes !== null)
            g.cdc_replication_slot_retained_wal_bytes.set({ slot: slot.name }, slot.retainedWalBytes);
          if (slot.flushLagBytes !== null)
            g.cdc_replication_slot_flush_lag_bytes.set({ slot: slot.name }, slot.flushLagBytes);
        }
      }
      if (s.lag.ok) {
        const perGroup = new Map<string, number>();
        for (const r of s.lag.value) {
          g.cdc_consumer_lag_messages.set({ group: r.group, topic: r.topic, partition: String(r.partition) }, r.lag);
          perGroup.set(r.group, (perGroup.get(r.group) ?? 0) + r.lag);
        }
        for (const [group, lag] of perGroup) g.cdc_consumer_group_lag_messages.set({ group }, lag);
      }
      for (const f of s.freshness) {
        if (f.freshnessSeconds !== null)
          g.cdc_table_freshness_seconds.set({ topic: f.topic, table: f.table ?? '' }, f.freshnessSeconds);
      }
      if (s.heartbeat.ok && s.heartbeat.value.ageSeconds !== null)
        g.cdc_heartbeat_age_seconds.set(s.heartbeat.value.ageSeconds);
      if (s.probes) {
        g.cdc_monitor_check_ok.set({ check: 'probe' }, s.probes.writeError === null ? 1 : 0);
        if (s.probes.lastProbeAt) g.cdc_probe_last_write_timestamp_seconds.set(Date.parse(s.probes.lastProbeAt) / 1000);
        for (const p of s.probes.services) {
          const labels = { service: p.service };
          if (p.lastLatencyMs !== null) g.cdc_probe_latency_seconds.set(labels, p.lastLatencyMs / 1000);
          if (p.lastObservedMs !== null) g.cdc_probe_observed_seconds.set(labels, p.lastObservedMs / 1000);
          g.cdc_probe_pending.set(labels, p.pending);
          g.cdc_probe_oldest_pending_seconds.set(labels, p.oldestPendingSeconds ?? 0);
          if (p.reachable !== null) g.cdc_probe_service_reachable.set(labels, p.reachable ? 1 : 0);
        }
      }
      if (s.drift) {
        const labels = { table: s.drift.table, copy: s.drift.copy };
        g.cdc_drift_rows.set(labels, s.drift.differing.length);
        g.cdc_drift_last_check_timestamp_seconds.set(labels, Date.parse(s.drift.at) / 1000);
      }
    },
  };
}
