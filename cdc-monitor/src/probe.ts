import type { Pool } from 'pg';
import { AppliedReportSchema, CDC_APPLIED_PATH, type AppliedPosition } from '@warmhouse/messaging';
import { splitList, type Logger } from '@warmhouse/shared';

export type { AppliedPosition };

/** A consuming service whose applied CDC position the probe reads (`GET <url>/cdc/applied`). */
export interface ProbeService {
  name: string;
  url: string;
}

const SERVICE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * Parses `name=url,name=url` (`CDC_MONITOR_SERVICES`). Returns the services or the problems, one per bad entry.
 */
export function parseServices(value: string): { services: ProbeService[]; problems: string[] } {
  const services: ProbeService[] = [];
  const problems: string[] = [];
  for (const entry of splitList(value)) {
    const i = entry.indexOf('=');
    const name = i > 0 ? entry.slice(0, i).trim() : '';
    const url = i > 0 ? entry.slice(i + 1).trim() : '';
    if (!SERVICE_NAME.test(name)) {
      problems.push(`"${entry}": expected name=url with a lowercase name (letters, digits, dashes)`);
      continue;
    }
    if (!/^https?:\/\/[^/]+/.test(url) || !URL.canParse(url)) {
      problems.push(`"${entry}": "${url}" is not an http(s) URL`);
      continue;
    }
    if (services.some((s) => s.name === name)) {
      problems.push(`"${name}" is listed twice`);
      continue;
    }
    services.push({ name, url: url.replace(/\/+$/, '') });
  }
  return { services, problems };
}

/** Reads `GET <service>/cdc/applied`; throws with a readable reason when the service cannot tell. */
export async function fetchApplied(serviceUrl: string, timeoutMs = 2000): Promise<Record<string, AppliedPosition>> {
  const res = await fetch(`${serviceUrl}${CDC_APPLIED_PATH}`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`GET /cdc/applied answered ${res.status}`);
  const parsed = AppliedReportSchema.safeParse(await res.json());
  if (!parsed.success) throw new Error(`GET /cdc/applied: unexpected answer (${parsed.error.issues[0]?.message})`);
  return parsed.data.topics;
}

/** A probe written into the heartbeat table. */
export interface Probe {
  seq: number;
  /**
   * Start of the probe's transaction on the database clock, ms, rounded down. Debezium's `source.ts_ms` of the probe's
   * change is its commit time, which is never earlier.
   */
  sourceTsMs: number;
  /** when the monitor wrote it (monitor clock), for the observed latency */
  writtenAtMs: number;
}

/**
 * Pure: the pending probes a position has reached. A service has applied a probe once the source commit time of the
 * last change it applied on the heartbeat topic is at or after the probe's: changes reach it in commit order, so
 * any change committed after the probe started was applied after the probe (or is the probe).
 */
export function reachedBy(
  pending: readonly Probe[],
  position: Pick<AppliedPosition, 'sourceTsMs'> | undefined,
): Probe[] {
  if (!position) return [];
  return pending.filter((p) => position.sourceTsMs >= p.sourceTsMs);
}

/** What the probe knows about one service. */
export interface ServiceProbeReport {
  service: string;
  url: string;
  /** null until the service was asked once */
  reachable: boolean | null;
  error: string | null;
  /** the service's clock when it applied the last probe it reached − the probe's start on the database clock */
  lastLatencyMs: number | null;
  /** monitor clock: probe written → first seen applied (an upper bound, as fine as the poll period) */
  lastObservedMs: number | null;
  /** when the last probe the service applied was written */
  lastAppliedProbeAt: string | null;
  /** probes written and not yet applied by the service */
  pending: number;
  /** age of the oldest of them */
  oldestPendingSeconds: number | null;
  /** unreachable, or a probe pending longer than the alarm threshold */
  overThreshold: boolean;
  /** the service's last applied position on the heartbeat topic */
  position: AppliedPosition | null;
}

/** The probe's report in the snapshot. */
export interface ProbeReport {
  topic: string;
  rowId: number;
  intervalSeconds: number;
  lastProbeAt: string | null;
  /** why the last probe could not be written (null when it was) */
  writeError: string | null;
  services: ServiceProbeReport[];
}

interface ServiceState {
  service: ProbeService;
  pending: Probe[];
  reachable: boolean | null;
  error: string | null;
  lastLatencyMs: number | null;
  lastObservedMs: number | null;
  lastAppliedProbeAt: number | null;
  position: AppliedPosition | null;
}

/** What the heartbeat probe needs; every piece injectable for tests. */
export interface ProbeDeps {
  /** the monolith database (`public.cdc_heartbeat`) */
  pool: Pick<Pool, 'query'>;
  services: readonly ProbeService[];
  logger: Logger;
  /** heartbeat topic whose applied position is compared (default `monolith.public.cdc_heartbeat`) */
  topic?: string;
  /** row of `public.cdc_heartbeat` the probe upserts; Debezium's own heartbeat owns id 1 */
  rowId?: number;
  intervalMs?: number;
  /** how often services with pending probes are asked */
  pollMs?: number;
  alarmSeconds?: number;
  /** at most this many pending probes are kept per service (the oldest go first; its age stays known) */
  maxPending?: number;
  now?: () => number;
  fetchApplied?: (serviceUrl: string) => Promise<Record<string, AppliedPosition>>;
}

/** SQL of a probe: upserts its row and answers the transaction start (ms, rounded down) on the database clock. */
export const PROBE_SQL = `INSERT INTO public.cdc_heartbeat (id, beat_at) VALUES ($1, now())
  ON CONFLICT (id) DO UPDATE SET beat_at = EXCLUDED.beat_at
  RETURNING floor(extract(epoch FROM beat_at) * 1000)::float8 AS ts_ms`;

/**
 * The heartbeat probe: every `intervalMs` it upserts its own row of `public.cdc_heartbeat`, then asks each service
 * (`GET /cdc/applied`) until the service's applied position on the heartbeat topic reaches the probe, and times it.
 */
export function createHeartbeatProbe(deps: ProbeDeps) {
  const now = deps.now ?? Date.now;
  const topic = deps.topic ?? 'monolith.public.cdc_heartbeat';
  const rowId = deps.rowId ?? 2;
  const intervalMs = deps.intervalMs ?? 10_000;
  const pollMs = deps.pollMs ?? 500;
  const alarmMs = (deps.alarmSeconds ?? 60) * 1000;
  const maxPending = deps.maxPending ?? 1000;
  const read = deps.fetchApplied ?? ((url: string) => fetchApplied(url));
  const log = deps.logger.child({ module: 'cdc-probe' });
  const states: ServiceState[] = deps.services.map((service) => ({
    service,
    pending: [],
    reachable: null,
    error: null,
    lastLatencyMs: null,
    lastObservedMs: null,
    lastAppliedProbeAt: null,
    position: null,
  }));
  let seq = 0;
  let lastProbeAt: number | null = null;
  let writeError: string | null = null;
  let polling: Promise<void> | undefined;
  const timers: NodeJS.Timeout[] = [];

  const pollOne = async (s: ServiceState): Promise<void> => {
    let position: AppliedPosition | undefined;
    try {
      position = (await read(s.service.url))[topic];
      s.reachable = true;
      s.error = position ? null : `no applied position on ${topic} yet`;
    } catch (err) {
      if (s.reachable !== false) {
        log.warn({ event: 'cdc_probe_service_unreachable', service: s.service.name, err }, 'service unreachable');
      }
      s.reachable = false;
      s.error = err instanceof Error ? err.message : String(err);
      return;
    }
    s.position = position ?? null;
    const reached = reachedBy(s.pending, position);
    if (reached.length === 0) return;
    const newest = reached[reached.length - 1]!;
    const seenAt = now();
    s.pending = s.pending.filter((p) => !reached.includes(p));
    s.lastObservedMs = seenAt - newest.writtenAtMs;
    s.lastLatencyMs =
      position?.appliedAtMs !== undefined ? Math.max(0, position.appliedAtMs - newest.sourceTsMs) : s.lastObservedMs;
    s.lastAppliedProbeAt = newest.writtenAtMs;
  };

  const api = {
    topic,
    /** Asks every service once (concurrent calls share one round). */
    poll(): Promise<void> {
      polling ??= Promise.all(states.map(pollOne))
        .then(() => undefined)
        .finally(() => (polling = undefined));
      return polling;
    },
    /** Writes one probe, remembers it as pending for every service, then asks them. */
    async probe(): Promise<Probe | undefined> {
      const writtenAtMs = now();
      let probe: Probe;
      try {
        const { rows } = await deps.pool.query<{ ts_ms: number }>(PROBE_SQL, [rowId]);
        probe = { seq: ++seq, sourceTsMs: Number(rows[0]?.ts_ms), writtenAtMs };
        writeError = null;
        lastProbeAt = writtenAtMs;
      } catch (err) {
        writeError = err instanceof Error ? err.message : String(err);
        log.warn({ event: 'cdc_probe_write_failed', err }, 'heartbeat probe could not be written');
        return undefined;
      }
      for (const s of states) {
        s.pending.push(probe);
        if (s.pending.length > maxPending) s.pending.shift();
      }
      await api.poll();
      return probe;
    },
    report(): ProbeReport {
      const t = now();
      return {
        topic,
        rowId,
        intervalSeconds: intervalMs / 1000,
        lastProbeAt: lastProbeAt === null ? null : new Date(lastProbeAt).toISOString(),
        writeError,
        services: states.map((s) => {
          const oldest = s.pending[0];
          const oldestMs = oldest ? t - oldest.writtenAtMs : null;
          return {
            service: s.service.name,
            url: s.service.url,
            reachable: s.reachable,
            error: s.error,
            lastLatencyMs: s.lastLatencyMs,
            lastObservedMs: s.lastObservedMs,
            lastAppliedProbeAt: s.lastAppliedProbeAt === null ? null : new Date(s.lastAppliedProbeAt).toISOString(),
            pending: s.pending.length,
            oldestPendingSeconds: oldestMs === null ? null : oldestMs / 1000,
            overThreshold: s.reachable === false || (oldestMs !== null && oldestMs > alarmMs),
            position: s.position,
          };
        }),
      };
    },
    /** Probes every `intervalMs` and asks services with pending probes every `pollMs`. */
    start(): void {
      const tick = () => void api.probe();
      tick();
      timers.push(setInterval(tick, intervalMs));
      timers.push(
        setInterval(() => {
          if (states.some((s) => s.pending.length > 0)) void api.poll();
        }, pollMs),
      );
    },
    async stop(): Promise<void> {
      for (const t of timers.splice(0)) clearInterval(t);
      await polling;
    },
  };
  return api;
}

/** The probe created by {@link createHeartbeatProbe}. */
export type HeartbeatProbe = ReturnType<typeof createHeartbeatProbe>;
