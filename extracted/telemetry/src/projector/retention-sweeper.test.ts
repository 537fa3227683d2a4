import { createLogger } from '@warmhouse/shared';
import type { Pool } from 'pg';
import { createMetrics } from '../metrics';
import { createRetentionSweeper, RETENTION_SWEEP_LEASE } from './retention-sweeper';

/** A pool that answers the lease claim as told and counts the statements it was given. */
function fakePool(leaseFree: boolean) {
  const statements: string[] = [];
  const query = (text: string) => {
    statements.push(text);
    if (text.includes('coordination.leases')) return Promise.resolve({ rows: [], rowCount: leaseFree ? 1 : 0 });
    return Promise.resolve({ rows: [], rowCount: 0 });
  };
  const pool = { query, connect: () => Promise.resolve({ query, release: () => undefined }) } as unknown as Pool;
  return { pool, statements };
}

const sweeper = (pool: Pool) =>
  createRetentionSweeper({
    pool,
    intervalMs: 60_000,
    batchSize: 100,
    logger: createLogger('test', 'silent'),
    metrics: createMetrics(),
    holder: 'replica-a',
  });

describe('retention sweeper: one replica sweeps per interval', () => {
  it('sweeps when it claims the lease', async () => {
    const { pool, statements } = fakePool(true);
    await expect(sweeper(pool).tick()).resolves.toBe(true);
    expect(statements.some((s) => s.includes('DELETE FROM read_model.readings'))).toBe(true);
  });

  it('skips the sweep while another replica holds the lease', async () => {
    const { pool, statements } = fakePool(false);
    await expect(sweeper(pool).tick()).resolves.toBe(false);
    expect(statements.some((s) => s.includes('DELETE'))).toBe(false);
  });

  it('claims a free or expired lease only, for one interval', async () => {
    const seen: unknown[][] = [];
    const texts: string[] = [];
    const pool = {
      query: (text: string, values: unknown[]) => {
        texts.push(text);
        seen.push(values);
        return Promise.resolve({ rows: [], rowCount: 0 });
      },
    } as unknown as Pool;
    await sweeper(pool).tick();
    expect(texts[0]).toContain('WHERE l.expires_at <= clock_timestamp()');
    expect(seen[0]).toEqual([RETENTION_SWEEP_LEASE, 'replica-a', 60_000]);
  });
});
