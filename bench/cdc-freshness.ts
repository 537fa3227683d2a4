/**
 * CDC freshness benchmark (not a test): drives row updates into the monolith database at fixed rates, consumes the
 * Debezium topic, and prints commit→consume latency percentiles, events seen vs written, missing and duplicates.
 *
 *   npm run bench:cdc -- [rates=200,1000] [seconds=20]
 *
 * It starts its own backbone (fresh state in .state/bench, ports from BENCH_PORT_BASE, default 37000) and stops it.
 */
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { Pool } from 'pg';
import { delay, waitFor } from '@warmhouse/shared';
import { startBackbone } from '../scripts/stack/backbone';
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
  firstId: number;
}) {
  const committedAt = new Map<number, number>(); // sequence → commit time (ms, this machine's clock)
  const latencies: number[] = [];
  const seenCount = new Map<number, number>();
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
        const seq = (JSON.parse(m.value.toString()) as { after?: { target_temperature?: number } }).after
          ?.target_temperature;
        if (seq === undefined || !committedAt.has(seq)) continue;
        seenCount.set(seq, (seenCount.get(seq) ?? 0) + 1);
        if (seenCount.get(seq) === 1) latencies.push(now - (committedAt.get(seq) ?? now));
      }
    },
  });
  await waitFor('bench consumer to join its group', () => (joined ? true : undefined), { timeoutMs: 30_000 });
  await delay(1000); // let the fresh group's "latest" position settle before the first write

  const total = opts.rate * opts.seconds;
  const tickMs = 10;
  const perTick = opts.rate / (1000 / tickMs);
  let sent = 0;
  let failed = 0;
  const inFlight = new Set<Promise<void>>();
  const started = Date.now();
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - started) / tickMs + 1) * perTick));
    for (; sent < due; sent++) {
      const seq = opts.firstId * 1_000_000 + sent + 1;
      const id = opts.firstId + (sent % ROWS);
      const p = opts.pool
        .query('UPDATE heating_systems SET target_temperature = $2 WHERE id = $1', [id, seq])
        .then(() => void committedAt.set(seq, Date.now()))
        .catch(() => void failed++)
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await delay(tickMs);
  }
  await Promise.all(inFlight);
  const driveSeconds = (Date.now() - started) / 1000;
  await waitFor('all events', () => (seenCount.size >= committedAt.size ? true : undefined), {
    timeoutMs: 30_000,
  }).catch(() => undefined);
  await consumer.disconnect();

  // A row updated before its previous update's commit time was recorded can show a tiny negative latency: clamp.
  const sorted = latencies.map((l) => Math.max(0, l)).sort((a, b) => a - b);
  const duplicates = [...seenCount.values()].filter((n) => n > 1).length;
  return {
    rate: opts.rate,
    achievedRate: Math.round(committedAt.size / driveSeconds),
    written: committedAt.size,
    failedWrites: failed,
    seen: seenCount.size,
    missing: committedAt.size - seenCount.size,
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
    portBase: Number(process.env.BENCH_PORT_BASE ?? 37000),
    fresh: true,
    log,
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
          brokers: [backbone.kafka.bootstrap],
          topic: backbone.topics.heatingSystems,
          rate,
          seconds,
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
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
