import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '@warmhouse/shared';
import { LOG_EVENTS } from '../log-events';
import type { ControlDatabase } from './database';

/** One proxy process as the fleet registry shows it. */
export interface FleetMember {
  processId: string;
  host: string;
  pid: number;
  startedAt: string;
  lastSeen: string;
  versionServed: number;
  servingFrom: string;
  /** The last stored version this process refused, with the reason. */
  refused: unknown;
}

/** Body of `GET /api/fleet`. */
export interface FleetView {
  /** Newest version in the store. */
  storeVersion: number;
  /** Every live process serves `storeVersion`. */
  converged: boolean;
  /** Processes seen within the liveness window, newest start first. */
  processes: FleetMember[];
  /** A process not seen for this long is not listed (ms). */
  liveAfterMs: number;
  /** The process that answered. */
  self: string;
}

/** What this process reports on each heartbeat. */
export interface FleetStatus {
  versionServed: number;
  servingFrom: string;
  refused?: unknown;
}

/** Options of {@link FleetRegistry}. */
export interface FleetRegistryOptions {
  db: ControlDatabase;
  heartbeatMs: number;
  status: () => FleetStatus;
  logger: Logger;
}

/** A process id unique across hosts and restarts: host, pid and a random suffix. */
export function newProcessId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/**
 * The fleet's membership: every proxy process upserts its row (`fleet_processes`) on each heartbeat and right
 * after it serves a new version; a process missing three heartbeats is no longer live. A process that stops
 * deletes its row.
 */
export class FleetRegistry {
  readonly processId = newProcessId();
  private readonly startedAt = new Date();
  private timer: NodeJS.Timeout | undefined;
  private failing = false;

  constructor(private readonly options: FleetRegistryOptions) {}

  get liveAfterMs(): number {
    return this.options.heartbeatMs * 3;
  }

  start(): void {
    void this.beat();
    this.timer = setInterval(() => void this.beat(), this.options.heartbeatMs);
    this.timer.unref();
  }

  /** Reports now (after a version was served), besides the periodic heartbeat. */
  async beat(): Promise<void> {
    const status = this.options.status();
    try {
      await this.options.db.query(
        `INSERT INTO fleet_processes
           (process_id, host, pid, started_at, last_seen, version_served, serving_from, refused)
         VALUES ($1, $2, $3, $4, clock_timestamp(), $5, $6, $7::jsonb)
         ON CONFLICT (process_id) DO UPDATE SET last_seen = clock_timestamp(), version_served = $5,
           serving_from = $6, refused = $7::jsonb`,
        [
          this.processId,
          hostname(),
          process.pid,
          this.startedAt,
          status.versionServed,
          status.servingFrom,
          status.refused === undefined ? null : JSON.stringify(status.refused),
        ],
      );
      this.failing = false;
    } catch (err) {
      if (!this.failing)
        this.options.logger.warn({ event: LOG_EVENTS.fleetHeartbeatFailed, err }, 'fleet heartbeat failed');
      this.failing = true;
    }
  }

  /** The live processes and whether they all serve the newest stored version. */
  async view(): Promise<FleetView> {
    const [rows, head] = await Promise.all([
      this.options.db.query<{
        process_id: string;
        host: string;
        pid: number;
        started_at: Date;
        last_seen: Date;
        version_served: string;
        serving_from: string;
        refused: unknown;
      }>(
        `SELECT process_id, host, pid, started_at, last_seen, version_served, serving_from, refused
         FROM fleet_processes WHERE last_seen > clock_timestamp() - make_interval(secs => $1 / 1000.0)
         ORDER BY started_at DESC`,
        [this.liveAfterMs],
      ),
      this.options.db.query<{ version: string | null }>('SELECT max(version) AS version FROM table_versions'),
    ]);
    const storeVersion = Number(head[0]?.version ?? 0);
    const processes = rows.map((r) => ({
      processId: r.process_id,
      host: r.host,
      pid: r.pid,
      startedAt: r.started_at.toISOString(),
      lastSeen: r.last_seen.toISOString(),
      versionServed: Number(r.version_served),
      servingFrom: r.serving_from,
      refused: r.refused,
    }));
    return {
      storeVersion,
      converged: processes.every((p) => p.versionServed === storeVersion && p.servingFrom === 'store'),
      processes,
      liveAfterMs: this.liveAfterMs,
      self: this.processId,
    };
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.options.db
      .query('DELETE FROM fleet_processes WHERE process_id = $1', [this.processId])
      .catch(() => undefined);
  }
}
