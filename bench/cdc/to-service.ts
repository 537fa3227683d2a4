/**
 * The service side of `npm run bench:cdc -- --to-service`: device-management processes (the chart runs 2) consuming
 * the benchmark's Debezium topic, and the two observers of one round:
 * - applied: device management's own database polled every 5 ms; a sequence counts as applied at the first poll
 *   where its row holds it or a later one (changes of one row are applied in order), so a missing sequence is one
 *   never applied;
 * - visible through the API: one sequence at a time, the last committed, read back through `GET /api/heating/{id}`
 *   of the replicas in turn every 2 ms until it shows (a sample, roughly one per 10–30 ms; each commit sampled at
 *   most once); a probe not shown within 30 s of its commit counts in `apiMissing` (the round never hangs on it).
 * Duplicates: settings-changed events in device management's outbox beyond one per written change (a change applied
 * twice would add one more).
 */
import { randomUUID } from 'node:crypto';
import { delay, waitFor } from '@warmhouse/shared';
import { Pool } from 'pg';
import type { ManagedProcess } from '../../cdc/src/runtime/processes';
import { prepareDeviceManagementDatabase } from '../../extracted/device-management/src/database';
import { startNodeService, waitForHttp } from '../../scripts/stack/apps';
import type { Backbone } from '../../scripts/stack/backbone';
import { applySummary, readApplyMetrics, stageFigures } from './apply-metrics';
import { drive, loadAverage, percentile, ROWS, summarise } from './common';

export interface ServiceFleet {
  replicas: number;
  urls: string[];
  db: Pool;
  stop(): Promise<void>;
}

/** A probe not visible through the API this long after its commit counts as missing (the round must end). */
const API_PROBE_DEADLINE_MS = 30_000;

/**
 * Reads `url` every 2 ms until its target temperature reaches `seq` (true), or until `goOn` says stop (false). A
 * request that fails or takes over 5 s is tried again (a loaded replica must not hang the round).
 */
async function shows(url: string, seq: number, goOn: () => boolean): Promise<boolean> {
  while (goOn()) {
    const body = await fetch(url, { signal: AbortSignal.timeout(5_000) })
      .then((r) => r.json() as Promise<{ targetTemperature?: number }>)
      .catch(() => ({}) as { targetTemperature?: number });
    if ((body.targetTemperature ?? 0) >= seq) return true;
    await delay(2);
  }
  return false;
}

/** The variables of `names` set in the benchmark's environment, to pass on to the service processes. */
const passOn = (...names: string[]): Record<string, string> =>
  Object.fromEntries(names.flatMap((n) => (process.env[n] ? [[n, process.env[n]]] : [])));

/** Prepares device management's database and starts `replicas` processes in one consumer group. */
export async function startServiceFleet(opts: {
  backbone: Backbone;
  replicas: number;
  stateDir: string;
  log: (line: string) => void;
}): Promise<ServiceFleet> {
  const { backbone } = opts;
  const databaseUrl = await prepareDeviceManagementDatabase(backbone.postgres.superuserUrl, {
    user: 'device_management',
    password: 'device-management-bench',
  });
  const suffix = randomUUID().slice(0, 8);
  const procs: ManagedProcess[] = [];
  const urls: string[] = [];
  for (let i = 0; i < opts.replicas; i++) {
    const port = backbone.ports.deviceManagement + i * 5;
    const proc = startNodeService({
      name: `device-management-${i + 1}`,
      entry: 'extracted/device-management/src/main.ts',
      env: {
        PORT: String(port),
        DATABASE_URL: databaseUrl,
        MONOLITH_DATABASE_URL: backbone.monolithUrl,
        KAFKA_BROKERS: backbone.kafka.bootstrap,
        KAFKA_CLIENT_ID: `dm-bench-${i + 1}`,
        CDC_GROUP_ID: `dm-bench-sync-${suffix}`,
        // the write path is not measured here: no relay, no write-back (their load would only add noise)
        OUTBOX_RELAY_ENABLED: 'false',
        WRITE_BACK_ENABLED: 'false',
        LOG_LEVEL: 'warn',
        // before/after figures: CDC_APPLY=per-change with CDC_CHANGES_PER_TRANSACTION=1 is a transaction per change
        ...passOn('CDC_APPLY', 'CDC_BATCH_MAX_CHANGES', 'CDC_CHANGES_PER_TRANSACTION'),
      },
      stateDir: opts.stateDir,
      registry: backbone.registry,
    });
    procs.push(proc);
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp(proc, `${url}/health/ready`);
    urls.push(url);
  }
  opts.log(`${opts.replicas} device-management processes ready: ${urls.join(', ')}`);
  const db = new Pool({ connectionString: databaseUrl, max: 4 });
  return {
    replicas: opts.replicas,
    urls,
    db,
    async stop() {
      await db.end();
      for (const p of procs) await p.stop(10_000);
    },
  };
}

/** One round: warm-up, then `seconds` at `rate`, observed in device management's database and API. */
export async function runServiceRound(opts: {
  pool: Pool;
  fleet: ServiceFleet;
  rate: number;
  seconds: number;
  warmupSeconds: number;
  firstId: number;
}) {
  const { fleet, firstId } = opts;
  const base = firstId * 1_000_000;
  const committedAt = new Map<number, number>();
  const appliedAt = new Map<number, number>();
  /** per row, sequences committed and not yet seen applied, oldest first */
  const pending = new Map<number, number[]>();
  const apiLatencies: number[] = [];
  let lastCommitted: { id: number; seq: number; at: number } | undefined;
  let observing = true;

  // every row of the round exists in device management before the clock starts
  await waitFor(
    'the round rows to reach device management',
    async () => {
      const { rows } = await fleet.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM devices WHERE legacy_id >= $1 AND legacy_id < $2',
        [firstId, firstId + ROWS],
      );
      return rows[0]!.n === ROWS ? true : undefined;
    },
    { timeoutMs: 120_000 },
  );

  const applied = (async () => {
    while (observing || [...pending.values()].some((q) => q.length > 0)) {
      const { rows } = await fleet.db.query<{ legacy_id: string; target_temperature: number }>(
        'SELECT legacy_id, target_temperature FROM devices WHERE legacy_id >= $1 AND legacy_id < $2',
        [firstId, firstId + ROWS],
      );
      const now = Date.now();
      for (const r of rows) {
        const q = pending.get(Number(r.legacy_id));
        while (q && q.length > 0 && q[0]! <= r.target_temperature) appliedAt.set(q.shift()!, now);
      }
      if (!observing && now - (lastCommitted?.at ?? now) > 30_000) break; // what is still pending is missing
      await delay(5);
    }
  })();

  let apiMissing = 0;
  const visible = (async () => {
    let turn = 0;
    let judged: typeof lastCommitted;
    while (observing) {
      const probe = lastCommitted;
      // each commit is judged once: re-judging an expired probe would spin without yielding to the event loop
      if (probe === undefined || probe === judged) {
        await delay(5);
        continue;
      }
      judged = probe;
      const url = `${fleet.urls[turn++ % fleet.urls.length]}/api/heating/${probe.id}`;
      if (await shows(url, probe.seq, () => observing && Date.now() - probe.at < API_PROBE_DEADLINE_MS)) {
        apiLatencies.push(Date.now() - probe.at);
      } else if (Date.now() - probe.at >= API_PROBE_DEADLINE_MS) apiMissing++; // else cut short by the round's end
    }
  })();

  await drive({ pool: opts.pool, rate: opts.rate, seconds: opts.warmupSeconds, firstId, seqBase: base });
  const measuredFrom = Date.now();
  const loadBefore = loadAverage();
  const before = await readApplyMetrics(fleet.urls);
  const { failed, seconds, sent } = await drive({
    pool: opts.pool,
    rate: opts.rate,
    seconds: opts.seconds,
    firstId,
    seqBase: base + 500_000,
    onCommitted: (ids, seqs, at) => {
      ids.forEach((id, i) => {
        const seq = seqs[i]!;
        committedAt.set(seq, at);
        const q = pending.get(id) ?? [];
        q.push(seq);
        pending.set(id, q);
      });
      lastCommitted = { id: ids[ids.length - 1]!, seq: seqs[seqs.length - 1]!, at };
    },
  });
  const loadAfter = loadAverage();
  await waitFor('every written change to be applied', () => (appliedAt.size >= committedAt.size ? true : undefined), {
    timeoutMs: 30_000,
  }).catch(() => undefined);
  observing = false;
  await Promise.all([applied, visible]);
  const after = await readApplyMetrics(fleet.urls);
  const apply = applySummary(before.counters, after.counters, (Date.now() - measuredFrom) / 1000);
  const stages = stageFigures(before.stages, after.stages);

  // growing lag: the p99 of the changes committed in the first and in the last 10 s of the measured period
  const windowP99 = (from: number, to: number) => {
    const l = [...committedAt]
      .filter(([seq, at]) => at >= from && at < to && appliedAt.has(seq))
      .map(([seq, at]) => appliedAt.get(seq)! - at)
      .sort((a, b) => a - b);
    return percentile(l, 99);
  };
  const end = measuredFrom + seconds * 1000;
  const { rows } = await fleet.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM outbox o JOIN devices d ON d.id = o.aggregate_id
     WHERE d.legacy_id >= $1 AND d.legacy_id < $2 AND o.event_type = 'device.settings-changed'`,
    [firstId, firstId + ROWS],
  );
  const warmupWritten = opts.rate * opts.warmupSeconds;
  const apiSorted = apiLatencies.sort((a, b) => a - b);
  return {
    rate: opts.rate,
    achievedRate: Math.round(committedAt.size / seconds),
    failedWrites: failed,
    ...summarise(committedAt, appliedAt),
    duplicates: Math.max(0, rows[0]!.n - warmupWritten - sent),
    p99first10s: windowP99(measuredFrom, measuredFrom + 10_000),
    p99last10s: windowP99(end - 10_000, end),
    apiSamples: apiSorted.length,
    apiP50: percentile(apiSorted, 50),
    apiP99: percentile(apiSorted, 99),
    apiMissing,
    ...apply,
    ...stages,
    load: `${loadBefore} → ${loadAfter}`,
  };
}
