import { randomUUID } from 'node:crypto';
import type { Logger } from '@warmhouse/shared';
import type { Pool } from 'pg';
import { claimLease } from '../data/leases';
import { deleteExpiredReadingsBatch } from '../data/retention';
import type { TelemetryMetrics } from '../metrics';

export interface RetentionSweeper {
  /** sweeps now, then every interval, until stopped */
  start(): void;
  /** waits for the batch in flight; a sweep in progress stops after it */
  stop(): Promise<void>;
  /** one whole sweep (tests): batches until none is left; returns how many readings it deleted */
  sweep(): Promise<number>;
  /** one tick: claims the sweep lease, sweeps when it got it; returns whether it swept */
  tick(): Promise<boolean>;
}

/** Name of the lease in `coordination.leases` the sweep is claimed with. */
export const RETENTION_SWEEP_LEASE = 'retention-sweep';

/**
 * Enforces the retention of devices provisioned by the connect-device saga on the raw history: deletes their
 * readings older than `retention_days`, in batches of `batchSize` rows (one short transaction each, so the
 * projector's transactions are never held up for long). Runs in the projector role, at start and then every
 * `intervalMs`. Every projector process ticks, but a tick sweeps only when it claims the `retention-sweep` lease
 * for `intervalMs` (see `claimLease`): one replica sweeps per interval, and another takes over when it is gone.
 */
export function createRetentionSweeper(opts: {
  pool: Pool;
  intervalMs: number;
  batchSize: number;
  logger: Logger;
  metrics: TelemetryMetrics;
  /** this process in the lease table; default a random id */
  holder?: string;
}): RetentionSweeper {
  const log = opts.logger.child({ module: 'retention-sweeper' });
  const holder = opts.holder ?? `sweeper-${randomUUID()}`;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;

  const sweep = async () => {
    const started = Date.now();
    let deleted = 0;
    for (;;) {
      const n = await deleteExpiredReadingsBatch(opts.pool, opts.batchSize);
      deleted += n;
      opts.metrics.retentionDeleted.inc(n);
      if (n < opts.batchSize || stopping) break;
    }
    log.info(
      { event: 'retention_swept', deleted, ms: Date.now() - started },
      `retention sweep deleted ${deleted} readings`,
    );
    return deleted;
  };

  const claimedTick = async (): Promise<boolean> => {
    const claimed = await claimLease(opts.pool, { name: RETENTION_SWEEP_LEASE, holder, forMs: opts.intervalMs });
    if (!claimed) {
      opts.metrics.retentionSweeps.inc({ result: 'skipped' });
      log.debug({ event: 'retention_sweep_skipped' }, 'another replica holds the retention sweep lease');
      return false;
    }
    await sweep();
    opts.metrics.retentionSweeps.inc({ result: 'ok' });
    return true;
  };

  const tick = () => {
    running = claimedTick()
      .catch((err: unknown) => {
        opts.metrics.retentionSweeps.inc({ result: 'failed' });
        log.warn({ event: 'retention_sweep_failed', err }, 'retention sweep failed; trying again next interval');
      })
      .finally(() => {
        if (!stopping) timer = setTimeout(tick, opts.intervalMs);
      });
  };

  return {
    sweep,
    tick: claimedTick,
    start: tick,
    async stop() {
      stopping = true;
      clearTimeout(timer);
      await running;
    },
  };
}
