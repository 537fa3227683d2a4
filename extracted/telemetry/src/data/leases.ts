import type { Queryable } from '@warmhouse/shared';

/**
 * Leases of periodic work one replica does at a time (`coordination.leases`). A claim succeeds when the lease is
 * free or expired and holds it for `forMs`; the holder does not renew it, so the next claim (by any replica) is
 * possible once `forMs` has passed: with `forMs` = the work's interval, the fleet does the work once per interval,
 * and a holder that dies mid-work is replaced after at most one interval.
 */
export async function claimLease(
  db: Queryable,
  lease: { name: string; holder: string; forMs: number },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO coordination.leases AS l (name, holder, expires_at)
     VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3::float8 / 1000))
     ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
     WHERE l.expires_at <= clock_timestamp()`,
    [lease.name, lease.holder, lease.forMs],
  );
  return rowCount === 1;
}
