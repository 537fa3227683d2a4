/**
 * Telemetry ingest benchmark (not a test): sustained batched ingest through the strangler proxy into the
 * telemetry service for a fixed time, and what it costs.
 *
 *   npx tsx bench/telemetry.ts [seconds=60] [concurrency=6] [batch=500] [devices=2000] [perDevice=1] [--split] [--direct]
 *
 * `perDevice`: readings of one device in one request. 1 (the default, the worst case for the command log: a batch
 * of 500 readings is 500 Kafka records) models a collector forwarding single readings of many devices; 25 models
 * house gateways that post their devices' buffered readings (20 devices × 25 readings = 20 records).
 *
 * Prints readings/s accepted (202 after acks=all), ingest latency p50/p99 (client side, per POST), projection lag
 * p50/p99 (a probe reading every 50 ms: 202 received → visible in the latest read model, polled every 5 ms), the
 * drain time after the load stops, CPU and RSS of the service, the proxy, Kafka and PostgreSQL, and checks that
 * every accepted reading was stored exactly once. `--direct` skips the proxy; `--split` runs the write side and the
 * projector (+ CDC feed) as two processes, as deployed. TELEMETRY_* variables are passed on to the service.
 *
 * It starts its own backbone (fresh state in .state/bench-telemetry, ports from BENCH_PORT_BASE, default 26000),
 * the service and the proxy as their own processes, and stops them by process id.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Kafka, logLevel } from 'kafkajs';
import { Pool } from 'pg';
import { delay, waitFor } from '@warmhouse/shared';
import { prepareTelemetryDatabase } from '../extracted/telemetry/src/database';
import { startNodeService, waitForHttp } from '../scripts/stack/apps';
import { startBackbone } from '../scripts/stack/backbone';
import { portsFor, REPO_ROOT, STATE_ROOT } from '../scripts/stack/layout';
import { exitOnPortsInUse, startProcess, type ManagedProcess } from '../cdc/src/runtime/processes';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const SECONDS = Number(args[0] ?? 60);
const CONCURRENCY = Number(args[1] ?? 6);
const BATCH = Number(args[2] ?? 500);
const DEVICES = Number(args[3] ?? 2000);
const PER_DEVICE = Number(args[4] ?? 1);
const DIRECT = process.argv.includes('--direct');
/** `--split`: the write side and the projector (+ CDC feed) as two processes, as they would be deployed */
const SPLIT = process.argv.includes('--split');
const PORT_BASE = Number(process.env.BENCH_PORT_BASE ?? 26000);
const CLK_TCK = 100;

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? NaN : (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN);
const ms = (v: number) => `${v.toFixed(1)} ms`;

/** The probe loop (plain JS: a worker thread does not go through tsx). Posts its probes back when told to stop. */
const PROBE_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { Pool } = require('pg');
const { setTimeout: sleep } = require('node:timers/promises');
const pool = new Pool({ connectionString: workerData.databaseUrl, max: 1 });
const probes = [];
let running = true;
parentPort.on('message', (m) => { if (m === 'start') void run(); if (m === 'stop') running = false; });
async function post() {
  let n = 0;
  while (running) {
    const at = workerData.first + n++;
    const res = await fetch(workerData.targetUrl + '/api/v1/telemetry', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId: 'bench-probe', metric: 'temperature', value: 20, unit: 'Cel', measuredAt: new Date(at).toISOString() }),
    });
    await res.arrayBuffer();
    if (res.status === 202) probes.push({ at, accepted: performance.now() });
    await sleep(50);
  }
}
async function watch(until) {
  for (;;) {
    const { rows } = await pool.query("SELECT measured_at AS t FROM read_model.latest WHERE device_id = 'bench-probe' AND metric = 'temperature'");
    const now = performance.now();
    const seen = rows[0] ? rows[0].t.getTime() : -Infinity;
    for (const p of probes) if (p.visible === undefined && p.at <= seen) p.visible = now;
    if (until() && probes.every((p) => p.visible !== undefined)) break;
    await sleep(5);
  }
}
async function run() {
  let posting = true;
  const poster = post().finally(() => (posting = false));
  await watch(() => !posting);
  await poster;
  await pool.end();
  parentPort.postMessage(probes);
}
`;

/** CPU seconds (user + system) and RSS of a process, from /proc. */
function sample(pid: number): { cpu: number; rssMb: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpu, rssMb: Number(rss?.[1] ?? 0) / 1024 };
  } catch {
    return undefined;
  }
}

/** pids of our PostgreSQL cluster: its postmaster (first line of postmaster.pid) and the postmaster's children. */
function postgresPids(dataDir: string): number[] {
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return [];
  }
  const pids = [postmaster];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = /PPid:\s+(\d+)/.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1];
      if (Number(ppid) === postmaster) pids.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return pids;
}

function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const idle = (line[3] ?? 0) + (line[4] ?? 0);
  const total = line.reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
}

async function main(): Promise<void> {
  const log = (line: string) => process.stdout.write(`[bench] ${line}\n`);
  const stateDir = path.join(STATE_ROOT, 'bench-telemetry');
  const planned = portsFor(PORT_BASE);
  const backbone = await startBackbone({
    stateDir,
    portBase: PORT_BASE,
    fresh: true,
    log,
    extraPorts: {
      telemetry: planned.telemetry,
      'telemetry projector': planned.telemetry + 100,
      'strangler proxy': planned.proxy,
      'proxy admin API': planned.proxyAdmin,
    },
    portHint: 'choose another port base (BENCH_PORT_BASE)',
  });
  const apps: ManagedProcess[] = [];
  const pools: Pool[] = [];
  try {
    const databaseUrl = await prepareTelemetryDatabase(backbone.postgres.superuserUrl, {
      user: 'telemetry',
      password: 'telemetry-bench',
    });
    const serviceUrl = `http://127.0.0.1:${backbone.ports.telemetry}`;
    const serviceEnv = {
      PORT: String(backbone.ports.telemetry),
      DATABASE_URL: databaseUrl,
      DATABASE_MIGRATE: 'false',
      KAFKA_BROKERS: backbone.kafka.bootstrap,
      LOG_LEVEL: 'warn',
      TELEMETRY_MAX_BATCH: String(Math.max(1000, BATCH)),
      // TELEMETRY_* variables of the bench's environment (TELEMETRY_PROJECTOR_CONCURRENCY…) reach the service
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('TELEMETRY_'))),
      ...(SPLIT ? { TELEMETRY_ROLES: 'api' } : {}),
    } as Record<string, string>;
    const entry = 'extracted/telemetry/src/main.ts';
    // BENCH_SERVICE_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/x") go to the service's node command line
    const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean);
    mkdirSync(path.join(stateDir, 'logs'), { recursive: true });
    const service =
      nodeArgs.length === 0
        ? startNodeService({ name: 'telemetry', entry, env: serviceEnv, stateDir, registry: backbone.registry })
        : startProcess({
            name: 'telemetry',
            command: process.execPath,
            args: [...nodeArgs, '--import', 'tsx', path.join(REPO_ROOT, entry)],
            cwd: REPO_ROOT,
            env: { ...process.env, ...serviceEnv },
            logFile: path.join(stateDir, 'logs', 'telemetry.log'),
            registry: backbone.registry,
            marker: entry,
          });
    apps.push(service);
    await waitForHttp(service, `${serviceUrl}/health/live`);
    let projectorProcess: ManagedProcess | undefined;
    if (SPLIT) {
      projectorProcess = startNodeService({
        name: 'telemetry-projector',
        entry,
        env: { ...serviceEnv, PORT: String(backbone.ports.telemetry + 100), TELEMETRY_ROLES: 'projector,cdc' },
        stateDir,
        registry: backbone.registry,
      });
      apps.push(projectorProcess);
      await waitForHttp(projectorProcess, `http://127.0.0.1:${backbone.ports.telemetry + 100}/health/live`);
    }
    await waitFor('telemetry ready', async () => ((await fetch(`${serviceUrl}/health/ready`)).ok ? true : undefined), {
      timeoutMs: 60_000,
    });

    let targetUrl = serviceUrl;
    let proxy: ManagedProcess | undefined;
    if (!DIRECT) {
      const routesFile = path.join(stateDir, 'routes.yaml');
      writeFileSync(
        routesFile,
        [
          'defaultTarget: monolith',
          'upstreams:',
          '  - name: monolith',
          '    url: http://127.0.0.1:9',
          '  - name: telemetry',
          `    url: ${serviceUrl}`,
          '    timeouts: { connectMs: 2000, headersMs: 10000, bodyMs: 30000 }',
          'routes:',
          '  - id: telemetry-api',
          '    path: /api/v1/telemetry/*',
          '    target: telemetry',
          '  - id: telemetry-ingest',
          '    methods: [POST]',
          '    path: /api/v1/telemetry',
          '    target: telemetry',
          '',
        ].join('\n'),
      );
      proxy = startNodeService({
        name: 'proxy',
        entry: 'proxy/src/main.ts',
        env: {
          PROXY_HOST: '127.0.0.1',
          PROXY_PORT: String(backbone.ports.proxy),
          PROXY_ADMIN_PORT: String(backbone.ports.proxyAdmin),
          PROXY_INSECURE_DEV_ADMIN: 'true',
          PROXY_ROUTES_FILE: routesFile,
          PROXY_WATCH_ROUTES_FILE: 'false',
          PROXY_STATE_DIR: path.join(stateDir, 'proxy'),
          PROXY_DECISION_HEADERS: 'false',
          LOG_LEVEL: 'warn',
        },
        stateDir,
        registry: backbone.registry,
      });
      apps.push(proxy);
      await waitForHttp(proxy, `http://127.0.0.1:${backbone.ports.proxyAdmin}/ready`, {
        alsoListensOn: [backbone.ports.proxy],
      });
      targetUrl = `http://127.0.0.1:${backbone.ports.proxy}`;
    }

    const db = new Pool({ connectionString: databaseUrl, max: 2 });
    pools.push(db);
    const base = Date.now() - 3600_000;
    let seq = 0;
    let nextDevice = 0;
    const perDevice = new Uint32Array(DEVICES); // readings sent so far per device: its next time is base + n * 10 ms
    const bodyOf = () => {
      const parts: string[] = [];
      let device = 0;
      for (let i = 0; i < BATCH; i++, seq++) {
        if (i % PER_DEVICE === 0) device = nextDevice++ % DEVICES;
        const at = base + perDevice[device]!++ * 10;
        parts.push(
          `{"deviceId":"bench-${device}","metric":"temperature","value":${(15 + (seq % 1000) / 100).toFixed(2)},"unit":"Cel","measuredAt":"${new Date(at).toISOString()}"}`,
        );
      }
      return `{"readings":[${parts.join(',')}]}`;
    };
    const post = (body: string) =>
      fetch(`${targetUrl}/api/v1/telemetry`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

    // warm-up (not measured): JIT, connection pools, topic metadata
    for (let i = 0; i < 10; i++) await (await post(bodyOf())).arrayBuffer();

    const latencies: number[] = [];
    let accepted = 0;
    let failed = 0;
    let running = true;
    const worker = async () => {
      while (running) {
        const body = bodyOf();
        const t0 = performance.now();
        const res = await post(body).catch(() => undefined);
        if (!res) {
          failed++;
          continue;
        }
        await res.arrayBuffer();
        latencies.push(performance.now() - t0);
        if (res.status === 202) accepted += BATCH;
        else failed++;
      }
    };

    // projection-lag probes, in a worker thread so that building load bodies does not delay them: one reading of
    // its own device every 50 ms; visible = latest.measured_at has reached it (polled every 5 ms)
    const prober = new Worker(PROBE_WORKER, {
      eval: true,
      workerData: { targetUrl, databaseUrl, first: base + 3_000_000 }, // after every load reading, before now
    });
    const probesDone = new Promise<Array<{ accepted: number; visible?: number }>>((resolve, reject) => {
      prober.once('message', resolve);
      prober.once('error', reject);
    });
    const kafkaPid = (
      JSON.parse(readFileSync(path.join(stateDir, 'pids.json'), 'utf8')) as Record<string, { pid: number }>
    ).kafka?.pid;
    const pgData = path.join(stateDir, 'postgres', 'data');
    const watched: Record<string, () => number[]> = {
      telemetry: () => [service.pid, ...(projectorProcess ? [projectorProcess.pid] : [])],
      ...(proxy ? { proxy: () => [proxy.pid] } : {}),
      kafka: () => (kafkaPid ? [kafkaPid] : []),
      postgresql: () => postgresPids(pgData),
    };
    const cpuAt = () =>
      Object.fromEntries(
        Object.entries(watched).map(([name, pids]) => [
          name,
          pids()
            .map(sample)
            .reduce((a, s) => a + (s?.cpu ?? 0), 0),
        ]),
      );
    const rss: Record<string, number> = {};
    const rssTimer = setInterval(() => {
      for (const [name, pids] of Object.entries(watched)) {
        const total = pids()
          .map(sample)
          .reduce((a, s) => a + (s?.rssMb ?? 0), 0);
        rss[name] = Math.max(rss[name] ?? 0, total);
      }
    }, 1000);

    log(
      `load: ${SECONDS} s, ${CONCURRENCY} concurrent POSTs of ${BATCH} readings over ${DEVICES} devices → ${targetUrl}`,
    );
    const cpu0 = cpuAt();
    const machine0 = machineCpu();
    const started = performance.now();
    prober.postMessage('start');
    const loops = Array.from({ length: CONCURRENCY }, worker);
    await delay(SECONDS * 1000);
    running = false;
    prober.postMessage('stop'); // no new probes; the worker reports once every probe it sent is visible
    await Promise.all(loops);
    const elapsed = (performance.now() - started) / 1000;
    const cpu1 = cpuAt();
    const machine1 = machineCpu();

    // drain: until the read models have applied every record of the command log
    const admin = new Kafka({ brokers: backbone.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const drainStart = performance.now();
    await waitFor(
      'projection to drain',
      async () => {
        const high = await admin.fetchTopicOffsets('telemetry.readings.v1');
        const { rows } = await db.query<{ partition: number; next_offset: string }>(
          `SELECT partition, next_offset FROM read_model.projection_offsets WHERE topic = 'telemetry.readings.v1'`,
        );
        const applied = new Map(rows.map((r) => [r.partition, r.next_offset]));
        return high.every((p) => p.high === p.low || applied.get(p.partition) === p.high) ? true : undefined;
      },
      { timeoutMs: 600_000, intervalMs: 50 },
    );
    const drainMs = performance.now() - drainStart;
    await admin.disconnect();
    const probes = await probesDone;
    await prober.terminate();
    clearInterval(rssTimer);

    const { rows } = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM read_model.readings WHERE device_id LIKE 'bench-%' AND device_id <> 'bench-probe'`,
    );
    const stored = Number(rows[0]?.n ?? 0);
    const metricsText = await (
      await fetch(
        projectorProcess ? `http://127.0.0.1:${backbone.ports.telemetry + 100}/metrics` : `${serviceUrl}/metrics`,
      )
    ).text();

    latencies.sort((a, b) => a - b);
    const lags = probes
      .filter((p) => p.visible !== undefined)
      .map((p) => p.visible! - p.accepted)
      .sort((a, b) => a - b);
    const cpuShare = (name: string) => ((cpu1[name]! - cpu0[name]!) / elapsed) * 100;
    const result = {
      path: DIRECT ? 'direct' : 'through the proxy',
      processes: SPLIT ? 'api | projector+cdc' : 'one (api+projector+cdc)',
      seconds: Number(elapsed.toFixed(1)),
      concurrency: CONCURRENCY,
      batch: BATCH,
      devices: DEVICES,
      readingsPerDevicePerRequest: PER_DEVICE,
      readingsPerSecond: Math.round(accepted / elapsed),
      acceptedReadings: accepted,
      failedRequests: failed,
      ingestP50Ms: Number(percentile(latencies, 50).toFixed(1)),
      ingestP99Ms: Number(percentile(latencies, 99).toFixed(1)),
      projectionLagP50Ms: Number(percentile(lags, 50).toFixed(1)),
      projectionLagP99Ms: Number(percentile(lags, 99).toFixed(1)),
      projectionLagMaxMs: Number((lags[lags.length - 1] ?? NaN).toFixed(1)),
      probes: probes.length,
      drainAfterLoadMs: Math.round(drainMs),
      storedEqualsAccepted: stored === accepted + 10 * BATCH,
      cpuPercentOfOneCore: Object.fromEntries(Object.keys(watched).map((n) => [n, Math.round(cpuShare(n))])),
      machineCpuPercent: Math.round(((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * 100),
      maxRssMb: Object.fromEntries(Object.entries(rss).map(([n, v]) => [n, Math.round(v)])),
      readModelWriteP99: histogramQuantile(metricsText, 'telemetry_read_model_write_duration_seconds', 0.99),
      serviceProjectionLagP99: histogramQuantile(metricsText, 'telemetry_projection_lag_seconds', 0.99),
    };
    log(
      `${result.readingsPerSecond} readings/s accepted (${result.path}); ingest p50 ${ms(result.ingestP50Ms)} p99 ${ms(result.ingestP99Ms)}; ` +
        `projection lag p50 ${ms(result.projectionLagP50Ms)} p99 ${ms(result.projectionLagP99Ms)}; drain ${result.drainAfterLoadMs} ms`,
    );
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    for (const pool of pools) await pool.end().catch(() => undefined);
    for (const app of apps.reverse()) await app.stop(10_000);
    await backbone.stop({ dropReplicationSlot: true });
  }
}

/** Upper bound of the bucket holding quantile q of a Prometheus histogram (seconds → "≤ x s"). */
function histogramQuantile(text: string, name: string, q: number): string {
  const buckets = [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)`, 'gm'))].map((m) => ({
    le: m[1]!,
    n: Number(m[2]),
  }));
  const total = buckets[buckets.length - 1]?.n ?? 0;
  const hit = buckets.find((b) => b.n >= q * total);
  return hit ? `<= ${hit.le} s (of ${total})` : 'n/a';
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    exitOnPortsInUse(err, '[bench]');
    process.stderr.write(`[bench] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
