import type { ProgressLoad, StepProgress } from '../plan/progress';
import { StepProgressSchema } from '../plan/progress';
import { Rollback, type ControlDatabase } from './database';
import type { PlanLease } from './lease';

/**
 * The plan runner's progress in the control store (`plan_progress`): when each route's step began, under which
 * plan. Read by a runner when it takes the lease (so a new runner continues the step where the old one was);
 * written only under the lease's epoch (a stale runner's write is refused).
 */
export class PgPlanProgress {
  readonly file = 'control store table plan_progress';

  constructor(
    private readonly db: ControlDatabase,
    private readonly lease: PlanLease,
  ) {}

  async load(): Promise<ProgressLoad> {
    const rows = await this.db.query<{ route_id: string; plan_hash: string; step: string; started_at: Date }>(
      'SELECT route_id, plan_hash, step, started_at FROM plan_progress',
    );
    const routes = new Map<string, StepProgress>();
    const problems: string[] = [];
    for (const r of rows) {
      const parsed = StepProgressSchema.safeParse({
        planHash: r.plan_hash,
        step: r.step,
        startedAt: r.started_at.toISOString(),
      });
      if (parsed.success) routes.set(r.route_id, parsed.data);
      else problems.push(`${r.route_id}: ${parsed.error.issues.map((i) => i.message).join(', ')}`);
    }
    return problems.length === 0
      ? { ok: true, routes }
      : { ok: false, problem: `invalid rows: ${problems.join('; ')}` };
  }

  /** Replaces the stored progress; refused (false) unless this process still holds the lease it read. */
  async save(routes: ReadonlyMap<string, StepProgress>): Promise<boolean> {
    const fence = this.lease.fence();
    if (!fence) return false;
    return this.db.transaction(async (client) => {
      const held = await client.query(
        `SELECT 1 FROM plan_lease WHERE name = $1 AND epoch = $2 AND holder = $3 AND expires_at > clock_timestamp()
         FOR SHARE`,
        [fence.lease, fence.epoch, fence.holder],
      );
      if (held.rowCount === 0) throw new Rollback(false);
      await client.query('DELETE FROM plan_progress WHERE NOT (route_id = ANY($1::text[]))', [[...routes.keys()]]);
      for (const [routeId, p] of routes)
        await client.query(
          `INSERT INTO plan_progress (route_id, plan_hash, step, started_at, epoch) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (route_id) DO UPDATE SET plan_hash = $2, step = $3, started_at = $4, epoch = $5`,
          [routeId, p.planHash, p.step, p.startedAt, fence.epoch],
        );
      return true;
    });
  }
}
