/**
 * What the scenarios of the proxy benchmark share (./run.ts, ./auth.ts, ./shadow.ts): the load generator, the request mix,
 * the port base, and the processes they start (the strangler proxy, the trivial backend).
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '@warmhouse/shared';
import { assertPortsFree, startProcess, type ManagedProcess } from '../../cdc/src/runtime/processes';

export interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  pipelining: number;
  requests: Array<{ method: string; path: string }>;
  /** Called for each connection (such as to give it requests with its own headers). */
  setupClient?: (client: {
    setRequests: (requests: Array<{ method: string; path: string; headers?: Record<string, string> }>) => void;
  }) => void;
}) => Promise<AutocannonResult>;
export const autocannon = require('autocannon') as Autocannon;

export const ROOT = path.resolve(__dirname, '..', '..');
/** Loopback ports from here up (below the ephemeral port range). */
export const PORT_BASE = Number(process.env.BENCH_PROXY_PORT_BASE ?? 24000);
export const PROXY_PORTS = { proxy: PORT_BASE, admin: PORT_BASE + 1 };

/**
 * What a scenario has of its own: its state folder (`.state/<name>`), its ports (PROXY_PORTS and `ports`, given as
 * offsets from PORT_BASE) and its log, whose lines carry `[label]`.
 */
export function benchScenario<K extends string>(opts: { name: string; label: string; ports: Record<K, number> }) {
  const own = Object.fromEntries(Object.entries<number>(opts.ports).map(([k, offset]) => [k, PORT_BASE + offset]));
  return {
    stateDir: path.join(ROOT, '.state', opts.name),
    ports: { ...PROXY_PORTS, ...(own as Record<K, number>) },
    log: (line: string) => process.stdout.write(`[${opts.label}] ${line}\n`),
  };
}

/** Waits until `url` answers with anything below 500 (a process started, its routes loaded). */
export async function answers(url: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(`${url} to answer`, async () => ((await fetch(url)).status < 500 ? true : undefined), {
    timeoutMs,
    intervalMs: 200,
  });
}

/** What one measured run of a scenario shows the client. */
export interface RunFigures {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  /** Errors, timeouts and answers other than 2xx/3xx. */
  failures: number;
}

/** The client-visible figures of an autocannon result. */
export const runFigures = (name: string, r: AutocannonResult): RunFigures => ({
  name,
  rps: r.requests.average,
  p50: r.latency.p50,
  p99: r.latency.p99,
  failures: r.errors + r.timeouts + r.non2xx,
});

/** The median of `xs` (robust against the odd run disturbed by other work on the machine). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Before a scenario starts anything: refuses a taken port (one line naming it, with the port-base hint) and gives
 * the scenario an empty state folder.
 */
export async function prepareBench({ ports, stateDir }: { ports: Record<string, number>; stateDir: string }) {
  await assertPortsFree(ports, { hint: 'choose another port base (BENCH_PROXY_PORT_BASE)' });
  rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });
}

/** The load: the GET routes of the heating API over the four seeded heating systems. */
export const REQUESTS = [1, 2, 3, 4].flatMap((id) => [
  { method: 'GET', path: `/api/heating/${id}` },
  { method: 'GET', path: `/api/heating/${id}/current-temperature` },
]);

/** Command and arguments that run a TypeScript file of the repository. */
export const tsNode = (script: string) => ({
  command: process.execPath,
  args: ['--require', 'tsx/cjs', path.join(ROOT, script)],
});

/** The load average, for the log: other processes on the machine skew the figures. */
export const loadAverage = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/**
 * The strangler proxy as a production process on PROXY_PORTS (or `ports`); its log and state in `dir`. `workers` is
 * its PROXY_WORKERS (default 1: one process).
 */
export function startProxyProcess(
  dir: string,
  routesFile: string,
  token: string,
  options: {
    workers?: string;
    ports?: { proxy: number; admin: number };
    name?: string;
    controlUrl?: string;
    /** Extra environment (such as the PROXY_OIDC_* settings). */
    env?: Record<string, string>;
  } = {},
): ManagedProcess {
  const ports = options.ports ?? PROXY_PORTS;
  const name = options.name ?? 'strangler-proxy';
  return startProcess({
    name,
    ...tsNode('proxy/src/main.ts'),
    logFile: path.join(dir, options.name ? `${name}.log` : 'proxy.log'),
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PROXY_HOST: '127.0.0.1',
      PROXY_PORT: String(ports.proxy),
      PROXY_ADMIN_PORT: String(ports.admin),
      PROXY_ADMIN_TOKEN: token,
      PROXY_ROUTES_FILE: routesFile,
      PROXY_STATE_DIR: path.join(dir, options.name ? `${name}-state` : 'proxy-state'),
      PROXY_WORKERS: options.workers ?? '1',
      ...(options.controlUrl ? { PROXY_CONTROL_DATABASE_URL: options.controlUrl } : {}),
      LOG_LEVEL: 'warn',
      ...options.env,
    },
  });
}

/** ./trivial-backend.ts on `port`, answering after `delayMs`. */
export function startTrivialBackend(name: string, port: number, logFile: string, delayMs = 0): ManagedProcess {
  return startProcess({
    name,
    ...tsNode('bench/proxy/trivial-backend.ts'),
    logFile,
    env: { ...process.env, PORT: String(port), DELAY_MS: String(delayMs) },
  });
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of the whole line)
  return (ticks * 1000) / CLOCK_TICKS;
}

/** Clock ticks per second of /proc figures (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100;
