/**
 * Strangler proxy benchmark (not a test). Same machine, same backend, same keep-alive load generator
 * (autocannon by default, or wrk; 50 connections), in one run: (a) direct to the backend, (b) through the strangler proxy
 * with a 20-route table — once per `--workers` setting (PROXY_WORKERS: 1 is one process, `auto` one per CPU) —,
 * (b0) for reference a minimal undici forwarder without routing or metrics, (c) through nginx (Debian package) with
 * equivalent routes. Prints requests/s, p50/p99 latency and the load average per round, the means, and the ratios
 * b/c and b/a.
 *
 *   npm run bench:proxy -- [--backend standin|trivial|both] [--seconds 5] [--rounds 2] [--connections 50]
 *                           [--workers 1|auto|N[,…]] [--nginx-workers auto|1] [--generator autocannon|wrk]
 *                           [--warmup 5]
 *   npm run bench:proxy -- --scenario auth [--seconds 5] [--rounds 3] [--connections 50]   (see ./auth.ts)
 *   npm run bench:proxy -- --scenario shadow [--seconds 5] [--rounds 2] [--connections 50] [--sample-rate 1] [--copies-per-second N]
 *     (see ./shadow.ts)
 *
 * Backends: `standin` is the monolith stand-in (express + one PostgreSQL query per request) on a
 * PostgreSQL cluster this script starts; `trivial` answers a fixed 75-byte JSON body. Everything runs on
 * loopback ports from BENCH_PROXY_PORT_BASE (default 24000, below the ephemeral port range) and is stopped again by process id.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { runMigrations, waitFor } from '@warmhouse/shared';
import { startPostgresCluster, type PostgresCluster } from '../../cdc/src/runtime/postgres';
import { exitOnPortsInUse, startProcess, type ManagedProcess } from '../../cdc/src/runtime/processes';
import { seedIfEmpty } from '../../monolith-standin/src/seed';
import { ensureDatabase } from '../../scripts/stack/databases';
import { parseWorkers } from '../../proxy/src/config';
import { nginxConf, proxyTable } from './routes';
import { prepareControlDatabase } from '../../proxy/src/control/prepare';
import {
  answers,
  autocannon,
  benchScenario,
  loadAverage,
  PORT_BASE,
  prepareBench,
  PROXY_PORTS,
  REQUESTS,
  startProxyProcess,
  startTrivialBackend,
  tsNode,
  type AutocannonResult,
} from './support';

const execFileAsync = promisify(execFile);

const {
  stateDir: STATE,
  ports: PORTS,
  log,
} = benchScenario({ name: 'bench-proxy', label: 'bench', ports: { nginx: 2, minimal: 3, backend: 80, postgres: 432 } });
/** Client and admin ports of the i-th proxy (one per `--workers` setting): the first on PROXY_PORTS. */
const proxyPorts = (i: number) =>
  i === 0 ? PROXY_PORTS : { proxy: PORT_BASE + 10 + 2 * (i - 1), admin: PORT_BASE + 11 + 2 * (i - 1) };

/** A `--workers` setting: as given (the proxy's PROXY_WORKERS) and the number of processes it means here. */
interface WorkersSetting {
  readonly given: string;
  readonly count: number;
  readonly label: string;
}

function workersSettings(value: string): WorkersSetting[] {
  return value.split(',').map((given) => {
    const count = parseWorkers(given);
    if (count === undefined) throw new Error(`--workers: "${given}" is not "auto", 0 or a whole number from 1`);
    return { given, count, label: /^\d+$/.test(given.trim()) ? `w${count}` : `w${count} (${given.trim()})` };
  });
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > -1 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

/** Waits until every worker of a proxy answers its admin API (the client port answers as soon as one does). */
async function allWorkersReady(adminUrl: string, token: string, count: number): Promise<void> {
  await waitFor(
    `${count} ready workers at ${adminUrl}`,
    async () => {
      const res = await fetch(`${adminUrl}/api/fleet/workers`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await res.json()) as { workers: Array<{ state: string; answered: boolean }> };
      return body.workers.filter((w) => w.state === 'ready' && w.answered).length === count ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

interface Row {
  backend: string;
  target: string;
  round: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** 1-minute load average when the measurement started */
  load: number;
}

/** wrk (Debian package), one thread: cycles through REQUESTS with a Lua script. */
async function wrk(url: string, seconds: number, connections: number): Promise<AutocannonResult> {
  const script = path.join(STATE, 'requests.lua');
  writeFileSync(
    script,
    `local paths = {${REQUESTS.map((r) => `"${r.path}"`).join(',')}}\nlocal i = 0\n` +
      'request = function()\n  i = i % #paths + 1\n  return wrk.format("GET", paths[i])\nend\n',
  );
  const { stdout } = await execFileAsync(
    'wrk',
    ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, url],
    {
      timeout: (seconds + 30) * 1000,
    },
  );
  const ms = (label: string): number => {
    const m = new RegExp(`^\\s*${label}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(stdout);
    if (!m) return NaN;
    return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
  };
  const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  return {
    requests: { average: num(/Requests\/sec:\s+([\d.]+)/), total: num(/(\d+) requests in/) },
    latency: { p50: ms('50'), p99: ms('99'), average: NaN },
    errors: socketErrors ? socketErrors.slice(1, 4).reduce((a, b) => a + Number(b), 0) : 0,
    timeouts: socketErrors ? Number(socketErrors[4]) : 0,
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
  };
}

async function measure(
  url: string,
  seconds: number,
  connections: number,
  generator: string,
): Promise<AutocannonResult> {
  if (generator === 'wrk') {
    await wrk(url, 1, connections); // warm-up (JIT, pools)
    return wrk(url, seconds, connections);
  }
  await autocannon({ url, connections, duration: 1, pipelining: 1, requests: REQUESTS }); // warm-up (JIT, pools)
  return autocannon({ url, connections, duration: seconds, pipelining: 1, requests: REQUESTS });
}

async function runBackend(
  kind: 'standin' | 'trivial',
  opts: {
    seconds: number;
    rounds: number;
    connections: number;
    workers: string;
    proxyWorkers: WorkersSetting[];
    generator: string;
    warmup: number;
    /** The bench's PostgreSQL: the stand-in's database and each proxy's control store. */
    pg: PostgresCluster;
    dbUrl?: string;
  },
): Promise<Row[]> {
  const dir = path.join(STATE, kind);
  mkdirSync(dir, { recursive: true });
  const procs: ManagedProcess[] = [];
  try {
    const backendUrl = `http://127.0.0.1:${PORTS.backend}`;
    const backend =
      kind === 'standin'
        ? startProcess({
            name: 'monolith-standin',
            ...tsNode('monolith-standin/src/main.ts'),
            logFile: path.join(dir, 'standin.log'),
            env: {
              ...process.env,
              MONOLITH_PORT: String(PORTS.backend),
              MONOLITH_DATABASE_URL: opts.dbUrl!,
              LOG_LEVEL: 'warn',
            },
          })
        : startTrivialBackend('trivial-backend', PORTS.backend, path.join(dir, 'backend.log'));
    procs.push(backend);
    await answers(`${backendUrl}/api/heating/1`);

    const routesFile = path.join(dir, 'routes.yaml');
    writeFileSync(routesFile, proxyTable(backendUrl));
    const token = randomBytes(24).toString('hex');
    const proxies = opts.proxyWorkers.map((w, i) => ({ ...w, ports: proxyPorts(i) }));
    for (const [i, p] of proxies.entries()) {
      // every proxy as deployed: on a control store of its own (its worker processes share it)
      const controlUrl = await prepareControlDatabase(
        opts.pg.superuserUrl,
        { user: 'strangler', password: 'bench' },
        { database: `strangler_${kind}_${i}` },
      );
      procs.push(
        startProxyProcess(dir, routesFile, token, {
          workers: p.given,
          ports: p.ports,
          name: `strangler-proxy-${p.label.replace(/\W+/g, '')}`,
          controlUrl,
        }),
      );
    }

    const nginxDir = path.join(dir, 'nginx');
    mkdirSync(nginxDir, { recursive: true });
    const conf = path.join(nginxDir, 'nginx.conf');
    writeFileSync(
      conf,
      nginxConf({ prefix: nginxDir, listenPort: PORTS.nginx, backendPort: PORTS.backend, workers: opts.workers }),
    );
    const nginx = startProcess({
      name: 'nginx',
      command: 'nginx',
      args: ['-c', conf, '-p', nginxDir, '-e', path.join(nginxDir, 'error.log')],
      logFile: path.join(nginxDir, 'stdout.log'),
    });
    procs.push(nginx);

    const minimal = startProcess({
      name: 'minimal-forwarder',
      ...tsNode('bench/proxy/minimal-forwarder.ts'),
      logFile: path.join(dir, 'minimal.log'),
      env: { ...process.env, NODE_ENV: 'production', PORT: String(PORTS.minimal), BACKEND_URL: backendUrl },
    });
    procs.push(minimal);

    const targets: Record<string, string> = {
      direct: backendUrl,
      minimal: `http://127.0.0.1:${PORTS.minimal}`,
      ...Object.fromEntries(proxies.map((p) => [`proxy ${p.label}`, `http://127.0.0.1:${p.ports.proxy}`])),
      nginx: `http://127.0.0.1:${PORTS.nginx}`,
    };
    for (const url of Object.values(targets)) await answers(`${url}/api/heating/1`);
    for (const p of proxies) await allWorkersReady(`http://127.0.0.1:${p.ports.admin}`, token, p.count);
    const bodies = await Promise.all(
      Object.values(targets).map(async (u) => (await fetch(`${u}/api/heating/2`)).text()),
    );
    if (new Set(bodies).size !== 1) throw new Error(`the paths answer differently: ${JSON.stringify(bodies)}`);

    const rows: Row[] = [];
    log(`load average before ${kind}: ${loadAverage()} (other processes on the machine skew the figures)`);
    if (opts.warmup > 0) {
      // every path once before the rounds, not recorded: JIT and pools of each Node process (every proxy worker
      // compiles its own hot path) are warm before the first measured round, not only after its 1 s warm-up
      log(`warm-up: ${opts.warmup} s per path`);
      for (const url of Object.values(targets)) await measure(url, opts.warmup, opts.connections, opts.generator);
    }
    for (let round = 1; round <= opts.rounds; round++) {
      for (const [target, url] of Object.entries(targets)) {
        const load = os.loadavg()[0]!;
        const r = await measure(url, opts.seconds, opts.connections, opts.generator);
        const row: Row = {
          backend: kind,
          target,
          round,
          rps: r.requests.average,
          p50: r.latency.p50,
          p99: r.latency.p99,
          errors: r.errors + r.timeouts + r.non2xx,
          load,
        };
        log(
          `${kind} round ${round} ${target.padEnd(18)} ${row.rps.toFixed(0).padStart(7)} req/s  p50 ${row.p50} ms  p99 ${row.p99} ms  errors ${row.errors}  load ${load.toFixed(2)}`,
        );
        rows.push(row);
      }
    }
    return rows;
  } finally {
    for (const p of procs.reverse()) await p.stop(10_000);
  }
}

/** The issue's goals: on the stand-in (a real backend) and on the trivial one (the proxy's own cost dominates). */
const GOALS: Record<string, { rps: number; p99: number }> = {
  standin: { rps: 0.9, p99: 1.5 },
  trivial: { rps: 0.6, p99: 2 },
};

function summarise(rows: Row[]): void {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const backend of [...new Set(rows.map((r) => r.backend))]) {
    const mine = rows.filter((r) => r.backend === backend);
    const of = (target: string) => {
      const rs = mine.filter((r) => r.target === target);
      return {
        rps: mean(rs.map((r) => r.rps)),
        p50: mean(rs.map((r) => r.p50)),
        p99: mean(rs.map((r) => r.p99)),
        errors: rs.reduce((a, r) => a + r.errors, 0),
      };
    };
    const proxies = [...new Set(mine.map((r) => r.target).filter((t) => t.startsWith('proxy ')))];
    const a = of('direct');
    const c = of('nginx');
    const loads = mine.map((r) => r.load);
    process.stdout.write(
      `\nbackend: ${backend} (mean of rounds; load average ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)} while measuring, ${os.availableParallelism()} CPUs)\n`,
    );
    process.stdout.write('path                           req/s     p50 ms   p99 ms   errors\n');
    const lines: Array<[string, ReturnType<typeof of>]> = [
      ['(a) direct', a],
      ['(b0) minimal undici', of('minimal')],
      ...proxies.map((t): [string, ReturnType<typeof of>] => [`(b) ${t}`, of(t)]),
      ['(c) nginx', c],
    ];
    for (const [name, m] of lines) {
      process.stdout.write(
        `${name.padEnd(26)} ${m.rps.toFixed(0).padStart(9)} ${m.p50.toFixed(2).padStart(10)} ${m.p99.toFixed(2).padStart(8)} ${String(m.errors).padStart(8)}\n`,
      );
    }
    const goal = GOALS[backend]!;
    for (const t of proxies) {
      const b = of(t);
      const rps = b.rps / c.rps;
      const p99 = b.p99 / c.p99;
      const met = rps >= goal.rps && p99 <= goal.p99;
      process.stdout.write(
        `${t}: throughput b/c = ${rps.toFixed(2)} (goal >= ${goal.rps}), p99 b/c = ${p99.toFixed(2)} (goal <= ${goal.p99}) -> ${met ? 'met' : 'NOT met'}; b/a = ${(b.rps / a.rps).toFixed(2)}\n`,
      );
    }
  }
}

/** The options every scenario takes (`--seconds`, `--rounds`, `--connections`), with its default of rounds. */
const loadOptions = (rounds: string) => ({
  seconds: Number(arg('seconds', '5')),
  rounds: Number(arg('rounds', rounds)),
  connections: Number(arg('connections', '50')),
});

async function main(): Promise<void> {
  if (arg('scenario', 'forwarding') === 'auth') {
    const { runAuthScenario } = await import('./auth');
    return runAuthScenario(loadOptions('3'));
  }
  if (arg('scenario', 'forwarding') === 'shadow') {
    const { runShadowScenario } = await import('./shadow');
    return runShadowScenario({
      ...loadOptions('2'),
      sampleRate: Number(arg('sample-rate', '1')),
      copiesPerSecond: arg('copies-per-second', '') === '' ? undefined : Number(arg('copies-per-second', '')),
    });
  }
  const backends = arg('backend', 'both');
  const opts = {
    ...loadOptions('2'),
    workers: arg('nginx-workers', 'auto'),
    proxyWorkers: workersSettings(arg('workers', '1')),
    warmup: Number(arg('warmup', '5')),
    generator: arg('generator', 'autocannon'),
  };
  const kinds = (backends === 'both' ? ['standin', 'trivial'] : [backends]) as Array<'standin' | 'trivial'>;
  await prepareBench({
    stateDir: STATE,
    ports: {
      ...Object.fromEntries(
        opts.proxyWorkers.flatMap((w, i) => [
          [`proxy ${w.label}`, proxyPorts(i).proxy],
          [`proxy ${w.label} admin`, proxyPorts(i).admin],
        ]),
      ),
      nginx: PORTS.nginx,
      minimal: PORTS.minimal,
      backend: PORTS.backend,
      postgres: PORTS.postgres,
    },
  });
  log(
    `${opts.rounds} rounds of ${opts.seconds} s per path, ${opts.connections} keep-alive connections (${opts.generator}), proxy PROXY_WORKERS ${opts.proxyWorkers.map((w) => w.given).join(' and ')}, nginx worker_processes ${opts.workers}, load average ${loadAverage()}`,
  );

  const rows: Row[] = [];
  let pg: PostgresCluster | undefined;
  try {
    pg = startPostgresCluster(STATE, PORTS.postgres, log);
    for (const kind of kinds) {
      if (kind === 'standin') {
        await ensureDatabase(pg.superuserUrl, 'smart_home', { user: 'monolith', password: 'bench' });
        const dbUrl = pg.urlFor('smart_home', 'monolith', 'bench');
        await runMigrations('monolith', dbUrl);
        const pool = new Pool({ connectionString: dbUrl });
        await seedIfEmpty(pool).finally(() => pool.end());
        rows.push(...(await runBackend('standin', { ...opts, pg, dbUrl })));
      } else rows.push(...(await runBackend('trivial', { ...opts, pg })));
    }
  } finally {
    pg?.stop();
  }
  summarise(rows);
}

main().catch((err: unknown) => {
  exitOnPortsInUse(err, 'bench:proxy:');
  process.stderr.write(`bench:proxy failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
