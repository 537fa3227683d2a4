import type { Logger } from '@warmhouse/shared';
import type { Pool } from 'pg';
import { deleteExpiredReadingsBatch } from '../data/retention';
import type { TelemetryMetrics } from '../metrics';

export interface RetentionSweeper {
  /** sweeps now, then every interval, until stopped */
  start(): void;
  /** waits for the batch in flight; a sweep in progress stops after it */
  stop(): Promise<void>;
  /** one whole sweep (tests): batches until none is left; returns how many readings it deleted */
  sweep(): Promise<number>;
}

/**
 * Enforces the retention of devices provisioned by the connect-device saga on the raw history: deletes their
 * readings older than `retention_days`, in batches of `batchSize` rows (one short transaction each, so the
 * projector's transactions are never held up for long). Runs in the projector role, at start and then every
 * `intervalMs`. Several projector processes may sweep at once: deleting a row twice is harmless.
 */
export function createRetentionSweeper(opts: {
  pool: Pool;
  intervalMs: number;
  batchSize: number;
  logger: Logger;
  metrics: TelemetryMetrics;
}): RetentionSweeper {
  const log = opts.logger.child({ module: 'retention-sweeper' });
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

  const tick = () => {
    running = sweep()
      .then(() => opts.metrics.retentionSweeps.inc({ result: 'ok' }))
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
    start: tick,
    async stop() {
      stopping = true;
      clearTimeout(timer);
      await running;
    },
  };
}
