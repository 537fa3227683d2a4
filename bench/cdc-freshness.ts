/**
 * CDC freshness benchmark (not a test): drives row updates into the monolith database at fixed rates, consumes the
 * Debezium topic, and prints commit→consume latency percentiles, events seen vs written, missing and duplicates.
 *
 *   npm run bench:cdc -- [rates=200,1000] [seconds=20]
 *
 * Each round first drives 5 s of warm-up (not measured), then the measured period.
 *
 * It starts its own backbone (fresh state in .state/bench, ports from BENCH_PORT_BASE, default 25000 (below the ephemeral range)) and stops it.
 */
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { Pool } from 'pg';
import { delay, waitFor } from '@warmhouse/shared';
import { startBackbone } from '../scripts/stack/backbone';
import { exitOnPortsInUse } from '../cdc/src/runtime/processes';
import { STATE_ROOT } from '../scripts/stack/layout';

const ROWS = 500;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function runRound(opts: {
  pool: Pool;
  brokers: string[];
  topic: string;
  rate: number;
  seconds: number;
  warmupSeconds: number;
  firstId: number;
}) {
  const committedAt = new Map<number, number>(); // sequence → time the UPDATE's commit was acknowledged
  const consumedAt = new Map<number, number>(); // sequence → time the change event reached the consumer
  let duplicates = 0;
  const kafka = new Kafka({ clientId: 'bench', brokers: opts.brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `bench-${randomUUID()}`, maxWaitTimeInMs: 20, minBytes: 1 });
  await consumer.connect();
  await consumer.subscribe({ topic: opts.topic, fromBeginning: false });
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => (joined = true));
  await consumer.run({
    eachBatchAutoResolve: true,
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const m of batch.messages) {
        if (!m.value) continue;
        const value = JSON.parse(m.value.toString()) as { after?: { target_temperature?: number } };
        const seq = value.after?.target_temperature;
        if (seq === undefined || seq < opts.firstId * 1_000_000) continue;
        if (consumedAt.has(seq)) duplicates += 1;
        else consumedAt.set(seq, now);
      }
    },
  });
  await waitFor('bench consumer to join its group', () => (joined ? true : undefined), { timeoutMs: 30_000 });

  // One transaction per 10 ms tick updating rate/100 rows: the row-change rate is exact without needing
  // a thousand round trips a second from one Node process.
  const tickMs = 10;
  const drive = async (seconds: number, seqBase: number, record: boolean) => {
    const total = opts.rate * seconds;
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
        seqs.push(seqBase + sent + 1);
      }
      if (ids.length > 0) {
        const p = opts.pool
          .query(
            `UPDATE heating_systems h SET target_temperature = v.seq
             FROM unnest($1::bigint[], $2::float8[]) AS v(id, seq) WHERE h.id = v.id`,
            [ids, seqs],
          )
          .then(() => {
            const now = Date.now();
            if (record) for (const seq of seqs) committedAt.set(seq, now);
          })
          .catch(() => void (failed += ids.length))
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await delay(tickMs);
    }
    await Promise.all(inFlight);
    return { failed, seconds: (Date.now() - started) / 1000 };
  };

  await drive(opts.warmupSeconds, opts.firstId * 1_000_000, false);
  const { failed, seconds } = await drive(opts.seconds, opts.firstId * 1_000_000 + 500_000, true);
  await waitFor(
    'every written change to be consumed',
    () => ([...committedAt.keys()].every((seq) => consumedAt.has(seq)) ? true : undefined),
    { timeoutMs: 30_000 },
  ).catch(() => undefined);
  await consumer.disconnect();

  // An event can arrive before its UPDATE's acknowledgement does: that latency counts as 0.
  const latencies = [...committedAt]
    .filter(([seq]) => consumedAt.has(seq))
    .map(([seq, at]) => Math.max(0, (consumedAt.get(seq) ?? at) - at));
  const sorted = latencies.sort((a, b) => a - b);
  const seen = latencies.length;
  return {
    rate: opts.rate,
    achievedRate: Math.round(committedAt.size / seconds),
    written: committedAt.size,
    failedWrites: failed,
    seen,
    missing: committedAt.size - seen,
    duplicates,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

async function main(): Promise<void> {
  const rates = (process.argv[2] ?? '200,1000').split(',').map(Number);
  const seconds = Number(process.argv[3] ?? 20);
  const log = (line: string) => process.stdout.write(`[bench] ${line}\n`);
  const backbone = await startBackbone({
    stateDir: path.join(STATE_ROOT, 'bench'),
    portBase: Number(process.env.BENCH_PORT_BASE ?? 25000),
    fresh: true,
    log,
    portHint: 'choose another port base (BENCH_PORT_BASE)',
  });
  const pool = new Pool({ connectionString: backbone.monolithUrl, max: 16 });
  try {
    const results = [];
    for (const [i, rate] of rates.entries()) {
      const firstId = (i + 1) * 1000;
      await pool.query(
        `INSERT INTO heating_systems (id, is_on, target_temperature, current_temperature)
         SELECT g, false, 0, 20 FROM generate_series($1::bigint, $1::bigint + $2 - 1) g`,
        [firstId, ROWS],
      );
      log(`round: ${rate} updates/s for ${seconds} s`);
      results.push(
        await runRound({
          pool,
          brokers: backbone.kafka.brokers,
          topic: backbone.topics.heatingSystems,
          rate,
          seconds,
          warmupSeconds: 5,
          firstId,
        }),
      );
    }
    process.stdout.write(
      `\nCDC freshness (commit → consumed by a kafkajs consumer), Kafka ${backbone.jars.kafkaVersion}, Debezium ${backbone.jars.debeziumVersion}\n`,
    );
    console.table(results);
  } finally {
    await pool.end();
    await backbone.stop({ dropReplicationSlot: true });
  }
}

main().catch((err: unknown) => {
  exitOnPortsInUse(err, '[bench]');
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
