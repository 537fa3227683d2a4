/**
 * Shadow scenario of the proxy benchmark (not a test): the same keep-alive load (autocannon, GET routes of the
 * heating API) through the strangler proxy with the routes in `forward` to the monolith, then in `shadow` with a
 * healthy shadow target (alternating, `rounds` times), then once with the shadow target down (connection refused)
 * and once with it slow (every answer after 2 s). Prints client-visible throughput, p50 and p99 per run, their
 * medians over the rounds (robust against the odd run disturbed by other work on the machine), the p99 increase of
 * shadow over monolith in % (median of the per-round increases), and the client failures of every run (the goal is 0: the client never
 * waits for, nor sees, the shadow copy).
 *
 *   npm run bench:proxy -- --scenario shadow [--seconds 5] [--rounds 2] [--connections 50] [--sample-rate 1] [--copies-per-second N]
 *
 * `--sample-rate` sets `shadow.sampleRate` of both routes (share of requests copied; default 1: every one);
 * `--copies-per-second` their `shadow.copiesPerSecond` (copy budget per proxy process; default none).
 *
 * Backends are the trivial backend (fixed 75-byte JSON body; monolith and shadow target answer the same, so every
 * comparison is equal). Ports from BENCH_PROXY_PORT_BASE (default 24000); everything is stopped by process id.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ManagedProcess } from '../../cdc/src/runtime/processes';
import * as bench from './support';

const scenario = bench.benchScenario({
  name: 'bench-proxy-shadow',
  label: 'bench:shadow',
  ports: { monolith: 80, shadow: 81, slow: 82, down: 83 },
});
const { stateDir: STATE, ports: PORTS, log } = scenario;
const ROUTES = ['heating-get', 'heating-current-temperature'];

interface Run extends bench.RunFigures {
  shadow: Record<string, number>;
}

function table(sampleRate: number, copiesPerSecond: number | undefined): string {
  const shadow = { sampleRate, ...(copiesPerSecond !== undefined ? { copiesPerSecond } : {}) };
  const url = (port: number) => `http://127.0.0.1:${port}`;
  return JSON.stringify({
    defaultTarget: 'monolith',
    upstreams: [
      { name: 'monolith', url: url(PORTS.monolith) },
      { name: 'shadow-ok', url: url(PORTS.shadow) },
      { name: 'shadow-slow', url: url(PORTS.slow), timeouts: { connectMs: 2000, headersMs: 30000, bodyMs: 30000 } },
      { name: 'shadow-down', url: url(PORTS.down) },
    ],
    routes: [
      // the shadow settings stay on the routes while the admin API switches them between forward and shadow
      { id: 'heating-get', methods: ['GET'], path: '/api/heating/:id', target: 'monolith', shadow },
      {
        id: 'heating-current-temperature',
        methods: ['GET'],
        path: '/api/heating/:id/current-temperature',
        target: 'monolith',
        shadow,
      },
    ],
  });
}

export async function runShadowScenario(opts: {
  seconds: number;
  rounds: number;
  connections: number;
  sampleRate: number;
  /** `shadow.copiesPerSecond` of both routes (per proxy process); absent: no budget. */
  copiesPerSecond?: number;
}): Promise<void> {
  if (!(opts.sampleRate > 0 && opts.sampleRate <= 1))
    throw new Error(`--sample-rate must be a number with 0 < r <= 1, got ${opts.sampleRate}`);
  await bench.prepareBench({ ports: PORTS, stateDir: STATE });
  const token = randomBytes(24).toString('hex');
  const procs: ManagedProcess[] = [];
  const backend = (name: string, port: number, delayMs = 0) =>
    bench.startTrivialBackend(name, port, path.join(STATE, `${name}.log`), delayMs);
  try {
    procs.push(backend('monolith', PORTS.monolith), backend('shadow-ok', PORTS.shadow));
    procs.push(backend('shadow-slow', PORTS.slow, 2_000));
    const routesFile = path.join(STATE, 'routes.json');
    if (opts.copiesPerSecond !== undefined && !(opts.copiesPerSecond > 0))
      throw new Error(`--copies-per-second must be a positive number, got ${opts.copiesPerSecond}`);
    writeFileSync(routesFile, table(opts.sampleRate, opts.copiesPerSecond));
    procs.push(bench.startProxyProcess(STATE, routesFile, token));
    const proxyUrl = `http://127.0.0.1:${PORTS.proxy}`;
    const adminUrl = `http://127.0.0.1:${PORTS.admin}`;
    for (const url of [`http://127.0.0.1:${PORTS.monolith}`, `http://127.0.0.1:${PORTS.shadow}`, proxyUrl])
      await bench.answers(`${url}/api/heating/1`);

    const admin = async (method: string, p: string, body?: unknown): Promise<unknown> => {
      const res = await fetch(`${adminUrl}${p}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
      return res.json();
    };
    const setMode = async (target: string, mode: 'forward' | 'shadow') => {
      for (const id of ROUTES) await admin('PATCH', `/api/routes/${id}`, { target, mode, reason: 'bench' });
    };
    const shadowCounters = async (): Promise<Record<string, number>> => {
      const data = (await admin('GET', '/api/shadow')) as { routes: Record<string, Record<string, number>> };
      const sum: Record<string, number> = {};
      for (const c of Object.values(data.routes)) for (const [k, v] of Object.entries(c)) sum[k] = (sum[k] ?? 0) + v;
      return sum;
    };
    const measure = async (name: string): Promise<Run> => {
      await bench.autocannon({
        url: proxyUrl,
        connections: opts.connections,
        duration: 1,
        pipelining: 1,
        requests: bench.REQUESTS,
      });
      const before = await shadowCounters();
      const r = await bench.autocannon({
        url: proxyUrl,
        connections: opts.connections,
        duration: opts.seconds,
        pipelining: 1,
        requests: bench.REQUESTS,
      });
      const after = await shadowCounters();
      const shadow = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
      const run: Run = { ...bench.runFigures(name, r), shadow };
      log(
        `${name.padEnd(12)} ${run.rps.toFixed(0).padStart(7)} req/s  p50 ${run.p50} ms  p99 ${run.p99} ms  client failures ${run.failures}  shadow ${JSON.stringify(shadow)}`,
      );
      return run;
    };

    log(
      `${opts.rounds} rounds of ${opts.seconds} s, ${opts.connections} connections, sample rate ${opts.sampleRate}, copies per second ${opts.copiesPerSecond ?? 'unlimited'}; load average ${bench.loadAverage()} (other processes on the machine skew the figures)`,
    );
    // the proxy process is cold: JIT and connection pools warm up before anything is measured
    await bench.autocannon({
      url: proxyUrl,
      connections: opts.connections,
      duration: 5,
      pipelining: 1,
      requests: bench.REQUESTS,
    });
    const runs: Run[] = [];
    for (let round = 1; round <= opts.rounds; round++) {
      await setMode('monolith', 'forward');
      runs.push(await measure('monolith'));
      await setMode('shadow-ok', 'shadow');
      runs.push(await measure('shadow'));
    }
    await setMode('shadow-down', 'shadow');
    runs.push(await measure('shadow-down'));
    await setMode('shadow-slow', 'shadow');
    runs.push(await measure('shadow-slow'));
    summarise(runs, opts.sampleRate);
  } finally {
    for (const p of procs.reverse()) await p.stop(10_000);
  }
}

function summarise(runs: Run[], sampleRate: number): void {
  const of = (name: string) => {
    const rs = runs.filter((r) => r.name === name);
    return {
      rps: bench.median(rs.map((r) => r.rps)),
      p50: bench.median(rs.map((r) => r.p50)),
      p99: bench.median(rs.map((r) => r.p99)),
      failures: rs.reduce((a, r) => a + r.failures, 0),
    };
  };
  process.stdout.write(`\nshadow scenario (trivial backends; sample rate ${sampleRate}; median of rounds)\n`);
  process.stdout.write('routes in                   req/s     p50 ms   p99 ms   client failures\n');
  const rows = [
    ['monolith (forward)', of('monolith')],
    ['shadow, target healthy', of('shadow')],
    ['shadow, target down', of('shadow-down')],
    ['shadow, target slow 2 s', of('shadow-slow')],
  ] as const;
  for (const [name, m] of rows)
    process.stdout.write(
      `${name.padEnd(25)} ${m.rps.toFixed(0).padStart(8)} ${m.p50.toFixed(2).padStart(10)} ${m.p99.toFixed(2).padStart(8)} ${String(m.failures).padStart(17)}\n`,
    );
  const mono = runs.filter((r) => r.name === 'monolith');
  const shadow = runs.filter((r) => r.name === 'shadow');
  const increases = mono.map((m, i) => ((shadow[i]!.p99 - m.p99) / m.p99) * 100);
  process.stdout.write(
    `p99 increase shadow vs monolith: ${bench.median(increases).toFixed(1)} % (median of rounds: ${increases.map((x) => x.toFixed(0)).join(', ')}); throughput shadow/monolith ${(of('shadow').rps / of('monolith').rps).toFixed(2)}\n`,
  );
  const down = of('shadow-down');
  const monolith = of('monolith');
  process.stdout.write(
    `target down vs monolith: throughput ${(down.rps / monolith.rps).toFixed(2)} (goal >= 0.9), p99 ${(((down.p99 - monolith.p99) / monolith.p99) * 100).toFixed(1)} % (goal <= +10 %)\n`,
  );
  const failures = rows.reduce((a, [, m]) => a + m.failures, 0);
  process.stdout.write(`client failures in all runs: ${failures} (goal 0)\n`);
}
