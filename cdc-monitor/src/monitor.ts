import type { Admin } from 'kafkajs';
import type { Pool } from 'pg';
import type { Logger } from '@warmhouse/shared';
import { auditedRestart, readConnector, type AuditEntry, type ConnectorReport } from './connector';
import { checkDrift, DEVICE_MANAGEMENT_HEATING_SQL, MONOLITH_HEATING_SQL, type DriftReport } from './drift';
import { judgeFreshness, type FreshnessReport, type LastChange } from './freshness';
import { readLag, type LagRow } from './lag';
import type { ProbeReport } from './probe';
import { readSlots, type SlotReport } from './slots';

/** What the monitor needs; each piece is injected so tests can drive it. */
export interface MonitorDeps {
  connectUrl: string;
  connectors: readonly string[];
  pool: Pool;
  slots: readonly string[];
  admin: Admin;
  consumerGroups: readonly string[];
  topics: readonly string[];
  /** newest change seen per topic (from {@link startFreshnessTail}) */
  lastChanges: ReadonlyMap<string, LastChange>;
  thresholds: { walRetainedAlarmBytes: number; freshnessAlarmSeconds: number; heartbeatAlarmSeconds: number };
  logger: Logger;
  now?: () => number;
  /** topics whose freshness can raise the alarm (default: all of `topics`) */
  freshnessAlarmTopics?: readonly string[];
  /** device management's database (`devices`), compared with `heating_systems` by the drift check; absent: no drift check */
  deviceManagementPool?: Pool;
  /** ids per checksum range of the drift check */
  driftRangeSize?: number;
  /** the heartbeat probe timed per consuming service (absent: no services configured) */
  probe?: { report(): ProbeReport };
}

/** Age of the last heartbeat Debezium's action query wrote into `public.cdc_heartbeat`. */
export interface HeartbeatReport {
  lastBeatAt: string | null;
  ageSeconds: number | null;
  overThreshold: boolean;
}

/** A check that could not run says so instead of reporting stale or empty data as healthy. */
export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** The whole CDC picture served by `GET /api/cdc`. */
export interface CdcSnapshot {
  at: string;
  /** false when any connector is not healthy, any check failed, or any alarm is raised */
  healthy: boolean;
  /** why it is not healthy, one line per reason (empty when healthy) */
  problems: string[];
  connectors: ConnectorReport[];
  slots: Checked<SlotReport[]>;
  lag: Checked<LagRow[]>;
  freshness: FreshnessReport[];
  heartbeat: Checked<HeartbeatReport>;
  /** the last drift check (on demand or scheduled); null before the first one */
  drift: DriftReport | null;
  /** the heartbeat probe per consuming service; null when no service is configured */
  probes: ProbeReport | null;
}

async function checked<T>(run: () => Promise<T>): Promise<Checked<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** Pure: every reason the snapshot is not healthy, for people (the dashboard shows them next to "not healthy"). */
export function problemsOf(s: Omit<CdcSnapshot, 'at' | 'healthy' | 'problems'>): string[] {
  const out: string[] = [];
  for (const c of s.connectors) if (!c.healthy) out.push(`connector ${c.name} is ${c.state}`);
  if (!s.slots.ok) out.push(`slot check failed: ${s.slots.error}`);
  else for (const slot of s.slots.value) for (const a of slot.alarms) out.push(`slot ${slot.name}: ${a}`);
  if (!s.lag.ok) out.push(`lag check failed: ${s.lag.error}`);
  if (!s.heartbeat.ok) out.push(`heartbeat check failed: ${s.heartbeat.error}`);
  else if (s.heartbeat.value.overThreshold) out.push('Debezium heartbeat is over its threshold');
  for (const f of s.freshness) if (f.overThreshold) out.push(`${f.topic} is not fresh`);
  if (s.probes?.writeError) out.push(`heartbeat probe not written: ${s.probes.writeError}`);
  for (const p of s.probes?.services ?? []) {
    if (p.reachable === false) out.push(`${p.service} unreachable: ${p.error}`);
    else if (p.overThreshold)
      out.push(`${p.service} has not applied a probe for ${p.oldestPendingSeconds?.toFixed(0)} s`);
  }
  if (s.drift && s.drift.differing.length > 0) out.push(`drift: ${s.drift.differing.length} rows differ`);
  return out;
}

/** Creates the monitor: every `snapshot()` reads all sources afresh, in parallel. */
export function createMonitor(deps: MonitorDeps) {
  const now = deps.now ?? Date.now;
  const audit: AuditEntry[] = [];
  let lastDrift: DriftReport | null = null;
  const log = deps.logger.child({ module: 'cdc-monitor' });

  const readHeartbeat = async (): Promise<HeartbeatReport> => {
    const { rows } = await deps.pool.query<{ beat_at: Date | null; age: number | null }>(
      // row 1 is Debezium's heartbeat action query; the monitor's own probe writes another row
      `SELECT max(beat_at) AS beat_at, extract(epoch FROM now() - max(beat_at))::float8 AS age
         FROM public.cdc_heartbeat WHERE id = 1`,
    );
    const row = rows[0];
    const age = row?.age ?? null;
    return {
      lastBeatAt: row?.beat_at ? row.beat_at.toISOString() : null,
      ageSeconds: age,
      overThreshold: age === null || age > deps.thresholds.heartbeatAlarmSeconds,
    };
  };

  return {
    async snapshot(): Promise<CdcSnapshot> {
      const [connectors, slots, lag, heartbeat] = await Promise.all([
        Promise.all(deps.connectors.map((c) => readConnector(deps.connectUrl, c))),
        checked(() => readSlots(deps.pool, deps.slots, deps.thresholds)),
        checked(() => readLag(deps.admin, deps.consumerGroups)),
        checked(readHeartbeat),
      ]);
      const freshness = judgeFreshness(
        deps.topics,
        deps.lastChanges,
        now(),
        deps.thresholds.freshnessAlarmSeconds,
        deps.freshnessAlarmTopics,
      );
      const probes = deps.probe?.report() ?? null;
      const problems = problemsOf({ connectors, slots, lag, heartbeat, freshness, probes, drift: lastDrift });
      return {
        at: new Date(now()).toISOString(),
        healthy: problems.length === 0,
        problems,
        connectors,
        slots,
        lag,
        freshness,
        heartbeat,
        drift: lastDrift,
        probes,
      };
    },
    async restart(connector: string, who: { reason: string; actor: string }): Promise<AuditEntry> {
      const entry = await auditedRestart(deps.connectUrl, connector, who, log);
      audit.push(entry);
      if (audit.length > 500) audit.shift();
      return entry;
    },
    audit: (): readonly AuditEntry[] => audit,
    /** Whether a service copy is configured for the drift check. */
    driftConfigured: deps.deviceManagementPool !== undefined,
    lastDrift: (): DriftReport | null => lastDrift,
    /** Runs the drift check of `heating_systems` against device management's copy, optionally on an id range. */
    async checkDrift(range: { from?: string; to?: string } = {}): Promise<DriftReport> {
      if (!deps.deviceManagementPool) throw new Error('no service copy configured for the drift check');
      const report = await checkDrift(
        { table: 'smart_home.public.heating_systems', copy: 'device_management.public.devices' },
        { pool: deps.pool, rowsSql: MONOLITH_HEATING_SQL },
        { pool: deps.deviceManagementPool, rowsSql: DEVICE_MANAGEMENT_HEATING_SQL },
        { ...range, rangeSize: deps.driftRangeSize ?? 1000 },
      );
      lastDrift = report;
      log.info(
        { event: 'cdc_drift_checked', differing: report.differing.length, range: report.range },
        `drift check: ${report.differing.length} differing rows`,
      );
      return report;
    },
    connectors: deps.connectors,
  };
}

/** The monitor created by {@link createMonitor}. */
export type Monitor = ReturnType<typeof createMonitor>;
