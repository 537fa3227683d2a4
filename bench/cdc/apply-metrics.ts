/**
 * Device management's set-based apply counters (`device_management_cdc_apply_*_total`), read from every replica's
 * `/metrics` before and after a round: how many transactions, how many changes each, and how long they took, so a
 * round's figures say where the apply time went.
 */

export interface ApplyCounters {
  transactions: number;
  failed: number;
  statements: number;
  seconds: number;
  /** change events counted by the sync (`device_management_cdc_events_total`, every op and result) */
  changes: number;
}

const ZERO: ApplyCounters = { transactions: 0, failed: 0, statements: 0, seconds: 0, changes: 0 };

/** Sum of the samples of `name` (any labels) whose label text contains `having`, in a Prometheus text body. */
function sumOf(body: string, name: string, having = ''): number {
  let total = 0;
  for (const line of body.split('\n')) {
    if (!line.startsWith(name) || !line.includes(having)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return total;
}

/** The `/metrics` bodies of the replicas at `urls` (an unreachable one reads as empty). */
async function metricsBodies(urls: readonly string[]): Promise<string[]> {
  return Promise.all(
    urls.map((url) =>
      fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })
        .then((r) => r.text())
        .catch(() => ''),
    ),
  );
}

/** The apply counters and stage histograms of the replicas at `urls`, from one scrape of each. */
export async function readApplyMetrics(
  urls: readonly string[],
): Promise<{ counters: ApplyCounters; stages: StageBuckets }> {
  const bodies = await metricsBodies(urls);
  return { counters: countersOf(bodies), stages: stageBucketsOf(bodies) };
}

/** The counters summed over the replicas' bodies. */
function countersOf(bodies: readonly string[]): ApplyCounters {
  const out = { ...ZERO };
  for (const body of bodies) {
    out.transactions += sumOf(body, 'device_management_cdc_apply_transactions_total', 'committed');
    out.failed += sumOf(body, 'device_management_cdc_apply_transactions_total', 'failed');
    out.statements += sumOf(body, 'device_management_cdc_apply_statements_total');
    out.seconds += sumOf(body, 'device_management_cdc_apply_seconds_total');
    out.changes += sumOf(body, 'device_management_cdc_events_total');
  }
  return out;
}

/** What a round's set-based apply did, from the counters before and after it over `wallSeconds`. */
export function applySummary(before: ApplyCounters, after: ApplyCounters, wallSeconds: number) {
  const tx = after.transactions - before.transactions;
  const changes = after.changes - before.changes;
  const seconds = after.seconds - before.seconds;
  return {
    applyTx: tx,
    applyTxFailed: after.failed - before.failed,
    changesPerTx: tx > 0 ? Math.round(changes / tx) : NaN,
    statementsPerTx: tx > 0 ? Number(((after.statements - before.statements) / tx).toFixed(1)) : NaN,
    msPerTx: tx > 0 ? Number(((seconds * 1000) / tx).toFixed(1)) : NaN,
    /** share of the round's wall time spent inside apply transactions */
    applyBusy: `${Math.round((seconds / wallSeconds) * 100)}%`,
  };
}

/** Cumulative bucket counts of `device_management_cdc_apply_stage_seconds`, per stage, summed over replicas. */
export type StageBuckets = Map<string, Map<number, number>>;

const STAGE_BUCKET = /^device_management_cdc_apply_stage_seconds_bucket\{(.*)\} (\S+)$/;

/** The stage histograms of the replicas' bodies, bucket counts summed. */
function stageBucketsOf(bodies: readonly string[]): StageBuckets {
  const out: StageBuckets = new Map();
  for (const body of bodies) {
    for (const line of body.split('\n')) {
      const m = STAGE_BUCKET.exec(line);
      const stage = m && /stage="([^"]+)"/.exec(m[1]!)?.[1];
      const le = m && /le="([^"]+)"/.exec(m[1]!)?.[1];
      if (!m || !stage || !le) continue;
      const buckets = out.get(stage) ?? new Map<number, number>();
      const bound = le === '+Inf' ? Infinity : Number(le);
      buckets.set(bound, (buckets.get(bound) ?? 0) + Number(m[2]));
      out.set(stage, buckets);
    }
  }
  return out;
}

/**
 * The q-quantile (0..1) of cumulative buckets in ms, interpolated inside its bucket like PromQL's
 * histogram_quantile; `>bound` when it lies above the highest finite bound.
 */
function bucketQuantileMs(buckets: ReadonlyArray<[number, number]>, q: number): string {
  const total = buckets[buckets.length - 1]?.[1] ?? 0;
  if (total === 0) return 'NaN';
  const rank = q * total;
  let [lower, below] = [0, 0];
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      if (bound === Infinity) break;
      return String(Math.round((lower + ((bound - lower) * (rank - below)) / Math.max(1, count - below)) * 1000));
    }
    [lower, below] = [bound, count];
  }
  return `>${Math.round(lower * 1000)}`;
}

/**
 * Per stage, `p50/p99` in ms of the changes a round applied (the buckets after minus before), so a round's
 * freshness reads as capture + queued + apply.
 */
export function stageFigures(before: StageBuckets, after: StageBuckets): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [stage, buckets] of after) {
    const diff = [...buckets]
      .map(([bound, count]): [number, number] => [bound, count - (before.get(stage)?.get(bound) ?? 0)])
      .sort((a, b) => a[0] - b[0]);
    out[`${stage}P50P99`] = `${bucketQuantileMs(diff, 0.5)}/${bucketQuantileMs(diff, 0.99)}`;
  }
  return out;
}
