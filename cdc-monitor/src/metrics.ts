import { Gauge, Registry } from 'prom-client';
import type { CdcSnapshot } from './monitor';

/**
 * Every metric the monitor exports, with its help text. The alerting rules in cdc-monitor/alerts/ may only use these
 * names (a unit test checks it).
 */
export const CDC_METRICS = {
  cdc_monitor_healthy: 'Whole CDC picture healthy (1) or not (0): connectors, slots, lag check, heartbeat, freshness.',
  cdc_connect_reachable: 'Kafka Connect REST API answered for this connector (1) or was unreachable (0).',
  cdc_connector_running: 'Connector RUNNING with every task RUNNING (1), otherwise 0; 0 when Connect is unreachable.',
  cdc_connector_state: 'Current state of the connector (label state, value 1): RUNNING, FAILED, PAUSED, UNREACHABLE…',
  cdc_connector_task_running: 'Task RUNNING (1) or not (0), per connector and task id.',
  cdc_replication_slot_present: 'Replication slot exists (1) or is missing (0).',
  cdc_replication_slot_active: 'Replication slot has a streaming consumer (1) or not (0).',
  cdc_replication_slot_wal_lost: 'Replication slot wal_status is lost (1): recreate and re-snapshot.',
  cdc_replication_slot_retained_wal_bytes:
    'WAL retained for the slot: pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn).',
  cdc_replication_slot_flush_lag_bytes: 'pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn).',
  cdc_consumer_lag_messages: 'Messages not yet consumed: end offset − committed offset, per group/topic/partition.',
  cdc_consumer_group_lag_messages: 'Sum of cdc_consumer_lag_messages over a group.',
  cdc_table_freshness_seconds: 'now − source commit time of the last change on the table’s CDC topic.',
  cdc_heartbeat_age_seconds:
    'now − beat_at of public.cdc_heartbeat (written every heartbeat.interval.ms, 1 s, by Debezium).',
  cdc_drift_rows:
    'Rows differing between a table and a service copy in the last drift check (missing, extra, different).',
  cdc_drift_last_check_timestamp_seconds:
    'When the last drift check of a table and a service copy ran, seconds since epoch.',
  cdc_monitor_check_ok: 'A check ran (1) or failed to run (0), label check: slots, lag, heartbeat, probe (last write).',
  cdc_probe_latency_seconds:
    'Last heartbeat probe applied by the service: its appliedAtMs − the probe transaction start (database clock).',
  cdc_probe_observed_seconds:
    'Last heartbeat probe, monitor clock: written → first seen applied (upper bound, as fine as the poll period).',
  cdc_probe_pending: 'Heartbeat probes written and not yet applied by the service.',
  cdc_probe_oldest_pending_seconds: 'Age of the oldest heartbeat probe the service has not applied (0 when none).',
  cdc_probe_service_reachable: 'The service answered GET /cdc/applied (1) or not (0) the last time it was asked.',
  cdc_probe_last_write_timestamp_seconds: 'When the monitor last wrote a heartbeat probe, seconds since epoch.',
} as const;

/** One of the exported metric names. */
export type CdcMetricName = keyof typeof CDC_METRICS;

/** A registry whose gauges are re-set from each snapshot (stale series disappear). */
export function createMetrics() {
  const registry = new Registry();
  const gauge = (name: CdcMetricName, labelNames: string[] = []) =>
    new Gauge({ name, help: CDC_METRICS[name], labelNames, registers: [registry] });
  const g = {
    healthy: gauge('cdc_monitor_healthy'),
    reachable: gauge('cdc_connect_reachable', ['connector']),
    running: gauge('cdc_connector_running', ['connector']),
    state: gauge('cdc_connector_state', ['connector', 'state']),
    task: gauge('cdc_connector_task_running', ['connector', 'task']),
    slotPresent: gauge('cdc_replication_slot_present', ['slot']),
    slotActive: gauge('cdc_replication_slot_active', ['slot']),
    slotLost: gauge('cdc_replication_slot_wal_lost', ['slot']),
    retained: gauge('cdc_replication_slot_retained_wal_bytes', ['slot']),
    flushLag: gauge('cdc_replication_slot_flush_lag_bytes', ['slot']),
    lag: gauge('cdc_consumer_lag_messages', ['group', 'topic', 'partition']),
    groupLag: gauge('cdc_consumer_group_lag_messages', ['group']),
    freshness: gauge('cdc_table_freshness_seconds', ['topic', 'table']),
    heartbeat: gauge('cdc_heartbeat_age_seconds'),
    checkOk: gauge('cdc_monitor_check_ok', ['check']),
    drift: gauge('cdc_drift_rows', ['table', 'copy']),
    driftAt: gauge('cdc_drift_last_check_timestamp_seconds', ['table', 'copy']),
    probeLatency: gauge('cdc_probe_latency_seconds', ['service']),
    probeObserved: gauge('cdc_probe_observed_seconds', ['service']),
    probePending: gauge('cdc_probe_pending', ['service']),
    probeOldest: gauge('cdc_probe_oldest_pending_seconds', ['service']),
    probeReachable: gauge('cdc_probe_service_reachable', ['service']),
    probeWritten: gauge('cdc_probe_last_write_timestamp_seconds'),
  };

  return {
    registry,
    /** Replaces every series with the values of `s`. */
    update(s: CdcSnapshot): void {
      for (const x of Object.values(g)) x.reset();
      g.healthy.set(s.healthy ? 1 : 0);
      for (const c of s.connectors) {
        g.reachable.set({ connector: c.name }, c.reachable ? 1 : 0);
        g.running.set({ connector: c.name }, c.healthy ? 1 : 0);
        g.state.set({ connector: c.name, state: c.state }, 1);
        for (const t of c.tasks) g.task.set({ connector: c.name, task: String(t.id) }, t.state === 'RUNNING' ? 1 : 0);
      }
      g.checkOk.set({ check: 'slots' }, s.slots.ok ? 1 : 0);
      g.checkOk.set({ check: 'lag' }, s.lag.ok ? 1 : 0);
      g.checkOk.set({ check: 'heartbeat' }, s.heartbeat.ok ? 1 : 0);
      if (s.slots.ok) {
        for (const slot of s.slots.value) {
          g.slotPresent.set({ slot: slot.name }, slot.present ? 1 : 0);
          g.slotActive.set({ slot: slot.name }, slot.active ? 1 : 0);
          g.slotLost.set({ slot: slot.name }, slot.walStatus === 'lost' ? 1 : 0);
          if (slot.retainedWalBytes !== null) g.retained.set({ slot: slot.name }, slot.retainedWalBytes);
          if (slot.flushLagBytes !== null) g.flushLag.set({ slot: slot.name }, slot.flushLagBytes);
        }
      }
      if (s.lag.ok) {
        const perGroup = new Map<string, number>();
        for (const r of s.lag.value) {
          g.lag.set({ group: r.group, topic: r.topic, partition: String(r.partition) }, r.lag);
          perGroup.set(r.group, (perGroup.get(r.group) ?? 0) + r.lag);
        }
        for (const [group, lag] of perGroup) g.groupLag.set({ group }, lag);
      }
      for (const f of s.freshness) {
        if (f.freshnessSeconds !== null) g.freshness.set({ topic: f.topic, table: f.table ?? '' }, f.freshnessSeconds);
      }
      if (s.heartbeat.ok && s.heartbeat.value.ageSeconds !== null) g.heartbeat.set(s.heartbeat.value.ageSeconds);
      if (s.probes) {
        g.checkOk.set({ check: 'probe' }, s.probes.writeError === null ? 1 : 0);
        if (s.probes.lastProbeAt) g.probeWritten.set(Date.parse(s.probes.lastProbeAt) / 1000);
        for (const p of s.probes.services) {
          const labels = { service: p.service };
          if (p.lastLatencyMs !== null) g.probeLatency.set(labels, p.lastLatencyMs / 1000);
          if (p.lastObservedMs !== null) g.probeObserved.set(labels, p.lastObservedMs / 1000);
          g.probePending.set(labels, p.pending);
          g.probeOldest.set(labels, p.oldestPendingSeconds ?? 0);
          if (p.reachable !== null) g.probeReachable.set(labels, p.reachable ? 1 : 0);
        }
      }
      if (s.drift) {
        const labels = { table: s.drift.table, copy: s.drift.copy };
        g.drift.set(labels, s.drift.differing.length);
        g.driftAt.set(labels, Date.parse(s.drift.at) / 1000);
      }
    },
  };
}
