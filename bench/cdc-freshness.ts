/**
 * CDC freshness benchmark (not a test): drives row updates into the monolith database at fixed rates, consumes the
 * Debezium topic, and prints commit→consume latency percentiles, events seen vs written, missing and duplicates.
 * With `--to-service`, commit → applied in device management's database by 2 device-management processes and
 * visible through its API (see bench/cdc/to-service.ts).
 *
 *   npm run bench:cdc -- [rates=200,1000] [seconds=20] [--to-service] [--partitions=N]
 *
 * Each round first drives 5 s of warm-up (not measured), then the measured period.
 *
 * It starts its own backbone (fresh state in .state/bench, ports from BENCH_PORT_BASE, default 25000 (below the ephemeral range)) and stops it.
 */
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { Pool } from 'pg';
import { waitFor } from '@warmhouse/shared';
import { startBackbone } from '../scripts/stack/backbone';
import { exitOnPortsInUse } from '../cdc/src/runtime/processes';
import { STATE_ROOT } from '../scripts/stack/layout';
import { drive, insertRows, loadAverage, summarise } from './cdc/common';
import { runServiceRound, startServiceFleet } from './cdc/to-service';

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

  const record = (_ids: number[], seqs: number[], at: number) => {
    for (const seq of seqs) committedAt.set(seq, at);
  };
  const base = opts.firstId * 1_000_000;
  await drive({ pool: opts.pool, rate: opts.rate, seconds: opts.warmupSeconds, firstId: opts.firstId, seqBase: base });
  const { failed, seconds } = await drive({
    pool: opts.pool,
    rate: opts.rate,
    seconds: opts.seconds,
    firstId: opts.firstId,
    seqBase: base + 500_000,
    onCommitted: record,
  });
  await waitFor(
    'every written change to be consumed',
    () => ([...committedAt.keys()].every((seq) => consumedAt.has(seq)) ? true : undefined),
    { timeoutMs: 30_000 },
  ).catch(() => undefined);
  await consumer.disconnect();

  return {
    rate: opts.rate,
    achievedRate: Math.round(committedAt.size / seconds),
    failedWrites: failed,
    duplicates,
    ...summarise(committedAt, consumedAt),
    load: loadAverage(),
  };
}

/**
 * An experiment (`--partitions=N`): the heating topic with N partitions (keyed by row id, so each row's changes
 * stay in order) instead of the stack's one, so N device-management replicas apply at once.
 */
async function addPartitions(brokers: string[], topic: string, count: number, log: (line: string) => void) {
  const admin = new Kafka({ clientId: 'bench-partitions', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createPartitions({ topicPartitions: [{ topic, count }] });
    log(`${topic}: ${count} partitions`);
  } finally {
    await admin.disconnect();
  }
}

async function main(): Promise<void> {
  const toService = process.argv.includes('--to-service');
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const rates = (args[0] ?? '200,1000').split(',').map(Number);
  const seconds = Number(args[1] ?? 20);
  const partitionsArg = process.argv.find((a) => a.startsWith('--partitions='));
  const partitions = partitionsArg ? Number(partitionsArg.split('=')[1]) : 1;
  const log = (line: string) => process.stdout.write(`[bench] ${line}\n`);
  const stateDir = path.join(STATE_ROOT, 'bench');
  const backbone = await startBackbone({
    stateDir,
    portBase: Number(process.env.BENCH_PORT_BASE ?? 25000),
    fresh: true,
    log,
    portHint: 'choose another port base (BENCH_PORT_BASE)',
  });
  const pool = new Pool({ connectionString: backbone.monolithUrl, max: 16 });
  if (partitions > 1) await addPartitions(backbone.kafka.brokers, backbone.topics.heatingSystems, partitions, log);
  const fleet = toService ? await startServiceFleet({ backbone, replicas: 2, stateDir, log }) : undefined;
  try {
    const results = [];
    for (const [i, rate] of rates.entries()) {
      const firstId = (i + 1) * 1000;
      await insertRows(pool, firstId);
      log(`round: ${rate} updates/s for ${seconds} s (load average ${loadAverage()})`);
      const round = { pool, rate, seconds, warmupSeconds: 5, firstId };
      results.push(
        fleet
          ? await runServiceRound({ ...round, fleet })
          : await runRound({ ...round, brokers: backbone.kafka.brokers, topic: backbone.topics.heatingSystems }),
      );
    }
    const what = fleet
      ? `commit → applied in device management's database (${fleet.replicas} replicas) and visible through its API`
      : 'commit → consumed by a kafkajs consumer';
    process.stdout.write(
      `\nCDC freshness (${what}), Kafka ${backbone.jars.kafkaVersion}, Debezium ${backbone.jars.debeziumVersion}, ms\n`,
    );
    console.table(results);
  } finally {
    await fleet?.stop();
    await pool.end();
    await backbone.stop({ dropReplicationSlot: true });
  }
}

main().catch((err: unknown) => {
  exitOnPortsInUse(err, '[bench]');
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
