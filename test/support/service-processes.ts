import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '@warmhouse/shared';
import {
  assertPortsFree,
  isAlive,
  PidRegistry,
  startProcess,
  tail,
  untilReady,
  type ManagedProcess,
} from '../../cdc/src/runtime/processes';
import { TEST_PORT_BASE, TEST_STATE_DIR } from '../stack-endpoints';

/*
 * Several real service processes (device management, telemetry, the CDC monitor) on the integration test stack, each
 * on its own port: started with `node --import tsx <service>/src/main.ts`, ready once GET /health/ready (the
 * monitor: /healthz) answers 200 from the process itself, stopped (SIGTERM, then SIGKILL) or killed (SIGKILL) by process id. Every process is recorded in the
 * test stack's pid registry, so the stack's teardown and supervisor stop what a crashed test left behind.
 *
 * Ports: `servicePort(i)` gives the i-th port of the window reserved for them (TEST_STACK_PORT_BASE + 440 … + 499,
 * above every port of the stack itself), so they stay inside the run's port range.
 */

const REPO_ROOT = path.resolve(__dirname, '..', '..');

export type ServiceName = 'device-management' | 'telemetry' | 'cdc-monitor';

/** Each service's entry point, the path answering 200 once it is ready, and how it is told its address. */
const SERVICES: Record<ServiceName, { entry: string; readyPath: string; listenEnv: (port: number) => object }> = {
  'device-management': {
    entry: path.join(REPO_ROOT, 'extracted', 'device-management', 'src', 'main.ts'),
    readyPath: '/health/ready',
    listenEnv: (port) => ({ HOST: '127.0.0.1', PORT: String(port) }),
  },
  telemetry: {
    entry: path.join(REPO_ROOT, 'extracted', 'telemetry', 'src', 'main.ts'),
    readyPath: '/health/ready',
    listenEnv: (port) => ({ HOST: '127.0.0.1', PORT: String(port) }),
  },
  // the CDC monitor (migration dashboard) listens once its Kafka and PostgreSQL clients are up
  'cdc-monitor': {
    entry: path.join(REPO_ROOT, 'cdc-monitor', 'src', 'main.ts'),
    readyPath: '/healthz',
    listenEnv: (port) => ({ MONITOR_HOST: '127.0.0.1', MONITOR_PORT: String(port) }),
  },
};

/** First offset (from TEST_STACK_PORT_BASE) of the ports for service processes; the stack uses offsets up to 432. */
export const SERVICE_PORT_OFFSET = 440;
/** How many ports that window holds. */
export const SERVICE_PORT_COUNT = 60;

/** The i-th port reserved for service processes of this test run (0 ≤ i < SERVICE_PORT_COUNT). */
export function servicePort(i: number): number {
  if (!Number.isInteger(i) || i < 0 || i >= SERVICE_PORT_COUNT)
    throw new Error(`servicePort(${i}): index must be an integer in [0, ${SERVICE_PORT_COUNT})`);
  return TEST_PORT_BASE + SERVICE_PORT_OFFSET + i;
}

/** One running service process. */
export interface ServiceProcess {
  readonly service: ServiceName;
  /** unique within the test run (the log file and the registry entry are named after it) */
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly logFile: string;
  /** exit code, null when killed by a signal */
  readonly exited: Promise<number | null>;
  alive(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs` (default 20 s); resolves once the process is gone. Idempotent. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL to the process (group): no shutdown hook runs; resolves once it is gone. */
  kill(): Promise<void>;
  /** the last `lines` lines of its log */
  logTail(lines?: number): string;
}

export interface StartServiceOptions {
  service: ServiceName;
  /** unique name within the run, e.g. `dm-a` */
  name: string;
  /** the service's environment (e.g. from its test support's `env()`); its host and port are set here */
  env: Record<string, string>;
  /** default: the next free index of `servicePort` not used by a process started here */
  port?: number;
  /** default 120 s (a cold `tsx` start on a loaded 2-core machine, plus migrations) */
  readyTimeoutMs?: number;
}

const registry = () => new PidRegistry(path.join(TEST_STATE_DIR, 'pids.json'));
const logDir = () => path.join(TEST_STATE_DIR, 'logs', 'services');
const usedPorts = new Set<number>();

function nextPort(): number {
  for (let i = 0; i < SERVICE_PORT_COUNT; i++) if (!usedPorts.has(servicePort(i))) return servicePort(i);
  throw new Error(`all ${SERVICE_PORT_COUNT} service ports of TEST_STACK_PORT_BASE=${TEST_PORT_BASE} are in use`);
}

/** Starts one service process and waits until its ready path (GET /health/ready; the monitor's /healthz) answers 200 on its own port. */
export async function startServiceProcess(options: StartServiceOptions): Promise<ServiceProcess> {
  const port = options.port ?? nextPort();
  usedPorts.add(port);
  try {
    return await launch(options, port);
  } catch (err) {
    usedPorts.delete(port);
    throw err;
  }
}

async function launch(options: StartServiceOptions, port: number): Promise<ServiceProcess> {
  const service = SERVICES[options.service];
  const ownStack = { registry: registry(), stateDir: TEST_STATE_DIR };
  await assertPortsFree({ [options.name]: port }, { hint: 'choose another TEST_STACK_PORT_BASE', ownStack });
  mkdirSync(logDir(), { recursive: true });
  const logFile = path.join(logDir(), `${options.name}.log`);
  // the marker on the command line lets the stack's teardown recognise the pid as this run's (never a recycled one)
  const marker = `--warmhouse-test-stack=${path.resolve(TEST_STATE_DIR)}${path.sep}`;
  const proc: ManagedProcess = startProcess({
    name: `service:${options.name}`,
    command: process.execPath,
    args: ['--import', 'tsx', service.entry, marker],
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      ...options.env,
      ...service.listenEnv(port),
      LOG_LEVEL: options.env.LOG_LEVEL === 'silent' ? 'info' : (options.env.LOG_LEVEL ?? 'info'),
    },
    logFile,
    registry: ownStack.registry,
    marker,
  });
  const url = `http://127.0.0.1:${port}`;
  const ready = waitFor(
    `${options.name} ready on ${url}`,
    async () => {
      const res = await fetch(`${url}${service.readyPath}`, { signal: AbortSignal.timeout(2_000) }).catch(
        () => undefined,
      );
      await res?.arrayBuffer().catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    },
    { timeoutMs: options.readyTimeoutMs ?? 120_000, intervalMs: 200 },
  );
  ready.catch(() => undefined);
  try {
    await untilReady(proc, logFile, ready, [port], { ownStack });
  } catch (err) {
    await proc.stop(2_000);
    throw err;
  }
  let stopping: Promise<void> | undefined;
  const done = (p: Promise<void>) => (stopping ??= p.finally(() => usedPorts.delete(port)));
  return {
    service: options.service,
    name: options.name,
    pid: proc.pid,
    port,
    url,
    logFile,
    exited: proc.exited,
    alive: () => isAlive(proc.pid),
    stop: (graceMs = 20_000) => done(proc.stop(graceMs)),
    kill: () => {
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      return done(proc.exited.then(() => undefined));
    },
    logTail: (lines = 40) => tail(logFile, lines),
  };
}

/**
 * Starts `count` processes of one service at once (names `<prefix>-0`, `<prefix>-1`, …); `env(i)` gives each its
 * environment. If one fails to start, the others are stopped and the error is thrown.
 */
export async function startServiceProcesses(options: {
  service: ServiceName;
  count: number;
  prefix: string;
  env: (index: number) => Record<string, string>;
  readyTimeoutMs?: number;
}): Promise<ServiceProcess[]> {
  const started = await Promise.allSettled(
    Array.from({ length: options.count }, (_, i) =>
      startServiceProcess({
        service: options.service,
        name: `${options.prefix}-${i}`,
        env: options.env(i),
        readyTimeoutMs: options.readyTimeoutMs,
      }),
    ),
  );
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  const running = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  if (failed) {
    await stopServiceProcesses(running);
    throw failed.reason;
  }
  return running;
}

/** Stops every process of the list (those already gone are skipped); for afterAll. */
export async function stopServiceProcesses(processes: readonly ServiceProcess[], graceMs = 20_000): Promise<void> {
  await Promise.all(processes.map((p) => p.stop(graceMs)));
}

/** Sums a counter of a Prometheus text exposition over its series whose labels contain `labels` ('' for all). */
export function sumCounter(text: string, name: string, labels = ''): number {
  return text
    .split('\n')
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(labels))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

/** GET /metrics of a running process, as text. */
export async function scrapeMetrics(p: Pick<ServiceProcess, 'url' | 'name'>): Promise<string> {
  const res = await fetch(`${p.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new Error(`${p.name}: GET /metrics answered ${res.status}`);
  return res.text();
}

/** The JSON log lines of a process (its log file) whose `event` is `event`. */
export function logEvents(p: Pick<ServiceProcess, 'logFile'>, event: string): Array<Record<string, unknown>> {
  if (!existsSync(p.logFile)) return [];
  return readFileSync(p.logFile, 'utf8')
    .split('\n')
    .filter((l) => l.includes(`"event":"${event}"`))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    })
    .filter((e) => e.event === event);
}

/**
 * The afterAll of a fleet test: stops the recorders reading its topics, then its processes (by pid), then closes its
 * test environments' pools; entries a failed beforeAll left undefined are skipped.
 */
export async function stopFleet(fleet: {
  recorders?: ReadonlyArray<{ stop(): Promise<unknown> } | undefined>;
  processes: readonly ServiceProcess[];
  environments?: ReadonlyArray<{ close(): Promise<unknown> } | undefined>;
}): Promise<void> {
  await Promise.all((fleet.recorders ?? []).map((r) => r?.stop()));
  await stopServiceProcesses(fleet.processes);
  await Promise.all((fleet.environments ?? []).map((e) => e?.close()));
}
