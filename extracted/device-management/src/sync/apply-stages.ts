/**
 * Where the freshness of one applied change went, from the commit in the monolith to the commit of the apply
 * transaction here, in three stages that add up to the whole:
 * - `capture`: commit in the monolith (Debezium's `source.ts_ms`) → the record produced to Kafka (its timestamp):
 *   WAL decoding, Debezium's poll, Kafka Connect's producer;
 * - `queued`: record in Kafka → its batch handed to the apply: the fetch, and waiting for the batch before it;
 * - `apply`: the batch's apply transaction, BEGIN to COMMIT.
 * Without a record timestamp, `queued` starts at the source commit and `capture` is left out. Clocks are one
 * machine's (or NTP-synchronised) wall clocks: a negative difference counts as 0.
 */
export interface ApplyStages {
  capture?: number;
  queued: number;
  apply: number;
}

/** The stages, as the metric's `stage` label names them. */
export const APPLY_STAGES = ['capture', 'queued', 'apply'] as const satisfies ReadonlyArray<keyof ApplyStages>;

const seconds = (fromMs: number, toMs: number) => Math.max(0, toMs - fromMs) / 1000;

export function applyStagesOf(
  change: { sourceTsMs: number; recordTsMs?: number },
  batch: { startedMs: number; committedMs: number },
): ApplyStages {
  const apply = seconds(batch.startedMs, batch.committedMs);
  if (change.recordTsMs === undefined || !Number.isFinite(change.recordTsMs)) {
    return { queued: seconds(change.sourceTsMs, batch.startedMs), apply };
  }
  return {
    capture: seconds(change.sourceTsMs, change.recordTsMs),
    queued: seconds(change.recordTsMs, batch.startedMs),
    apply,
  };
}
