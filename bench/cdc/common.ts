import { loadavg } from 'node:os';
import { delay } from '@warmhouse/shared';
import type { Pool } from 'pg';

/** Rows each round updates (ids firstId … firstId + ROWS − 1). */
export const ROWS = 500;

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** The 1, 5 and 15 minute load averages, as printed beside every figure. */
export const loadAverage = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** Inserts the round's rows into heating_systems (the snapshot-free way: they stream as inserts). */
export async function insertRows(pool: Pool, firstId: number): Promise<void> {
  await pool.query(
    `INSERT INTO heating_systems (id, is_on, target_temperature, current_temperature)
     SELECT g, false, 0, 20 FROM generate_series($1::bigint, $1::bigint + $2 - 1) g`,
    [firstId, ROWS],
  );
}

/**
 * Writes `rate` row updates per second for `seconds` into the monolith: one transaction per 10 ms tick updating
 * rate/100 rows (the row-change rate is exact without a thousand round trips a second from one Node process).
 * Each update sets `target_temperature` to a sequence number; `onCommitted` gets the ids and sequences of each
 * acknowledged commit.
 */
export async function drive(opts: {
  pool: Pool;
  rate: number;
  seconds: number;
  firstId: number;
  seqBase: number;
  onCommitted?: (ids: number[], seqs: number[], at: number) => void;
}): Promise<{ failed: number; seconds: number; sent: number }> {
  const tickMs = 10;
  const total = opts.rate * opts.seconds;
  const perTick = opts.rate / (1000 / tickMs);
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  let failed = 0;
  const started = Date.now();
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - started) / tickMs + 1) * perTick));
    const ids: number[] = [];
    const seqs: number[] = [];
    for (; sent < due; sent++) {
      ids.push(opts.firstId + (sent % ROWS));
      seqs.push(opts.seqBase + sent + 1);
    }
    if (ids.length > 0) {
      const p = opts.pool
        .query(
          `UPDATE heating_systems h SET target_temperature = v.seq
           FROM unnest($1::bigint[], $2::float8[]) AS v(id, seq) WHERE h.id = v.id`,
          [ids, seqs],
        )
        .then(() => opts.onCommitted?.(ids, seqs, Date.now()))
        .catch(() => void (failed += ids.length))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await delay(tickMs);
  }
  await Promise.all(inFlight);
  return { failed, seconds: (Date.now() - started) / 1000, sent };
}

/** Latency figures of one round: sequences committed at `committedAt`, observed at `observedAt`. */
export function summarise(committedAt: Map<number, number>, observedAt: Map<number, number>) {
  // an observation can come before its commit's acknowledgement: that latency counts as 0
  const sorted = [...committedAt]
    .filter(([seq]) => observedAt.has(seq))
    .map(([seq, at]) => Math.max(0, (observedAt.get(seq) ?? at) - at))
    .sort((a, b) => a - b);
  return {
    written: committedAt.size,
    seen: sorted.length,
    missing: committedAt.size - sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}
