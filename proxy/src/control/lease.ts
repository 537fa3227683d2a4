import type { ControlDatabase } from './database';

/** The lease as stored: who holds it, under which epoch (the fencing token), until when. */
export interface LeaseState {
  holder: string | null;
  epoch: number;
  expiresAt: string;
  /** Whether it is held now (not expired). */
  held: boolean;
}

/** Options of {@link PlanLease}. */
export interface PlanLeaseOptions {
  db: ControlDatabase;
  /** This process (the fleet registry's process id). */
  holder: string;
  /** A holder that stops renewing loses the lease after this long (ms). */
  ttlMs: number;
  name?: string;
}

/**
 * Exactly one plan runner in the fleet: a lease row (`plan_lease`) taken when free or expired and renewed by its
 * holder on every tick. Each acquisition takes a new epoch — the fencing token every plan change is stored under
 * (the commit checks it in the same transaction), so a runner that lost its lease while a change was in flight
 * (paused, partitioned) cannot apply it after another took over. Expiry runs on the database's clock only.
 */
export class PlanLease {
  readonly name: string;
  private epochHeld: number | undefined;

  constructor(private readonly options: PlanLeaseOptions) {
    this.name = options.name ?? 'plans';
  }

  /** The epoch of the lease this process holds, as of its last successful {@link hold}. */
  get epoch(): number | undefined {
    return this.epochHeld;
  }

  get holder(): string {
    return this.options.holder;
  }

  /** Takes the lease when it is free or expired, or renews it; `true` while this process holds it. */
  async hold(): Promise<boolean> {
    try {
      const rows = await this.options.db.query<{ epoch: string }>(
        `UPDATE plan_lease SET
           epoch = CASE WHEN holder = $2 AND expires_at > clock_timestamp() THEN epoch ELSE epoch + 1 END,
           holder = $2,
           expires_at = clock_timestamp() + make_interval(secs => $3 / 1000.0)
         WHERE name = $1 AND (holder = $2 OR holder IS NULL OR expires_at <= clock_timestamp())
         RETURNING epoch`,
        [this.name, this.options.holder, this.options.ttlMs],
      );
      this.epochHeld = rows.length > 0 ? Number(rows[0]!.epoch) : undefined;
    } catch (err) {
      this.epochHeld = undefined;
      throw err;
    }
    return this.epochHeld !== undefined;
  }

  /** Gives the lease up (a stopping process), so another runner need not wait for it to expire. */
  async release(): Promise<void> {
    this.epochHeld = undefined;
    await this.options.db.query(
      `UPDATE plan_lease SET holder = NULL, expires_at = '-infinity' WHERE name = $1 AND holder = $2`,
      [this.name, this.options.holder],
    );
  }

  async state(): Promise<LeaseState> {
    const rows = await this.options.db.query<{ holder: string | null; epoch: string; expires_at: Date; held: boolean }>(
      `SELECT holder, epoch, expires_at, expires_at > clock_timestamp() AS held FROM plan_lease WHERE name = $1`,
      [this.name],
    );
    const r = rows[0];
    if (!r) return { holder: null, epoch: 0, expiresAt: new Date(0).toISOString(), held: false };
    const expiresAt = Number.isFinite(r.expires_at.getTime()) ? r.expires_at.toISOString() : null;
    return { holder: r.holder, epoch: Number(r.epoch), expiresAt: expiresAt ?? '-infinity', held: r.held };
  }

  /** The fencing token of this process's lease, for a commit. */
  fence(): { lease: string; epoch: number; holder: string } | undefined {
    return this.epochHeld === undefined ? undefined : { lease: this.name, epoch: this.epochHeld, holder: this.holder };
  }
}
