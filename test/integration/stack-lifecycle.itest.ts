import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Client } from 'pg';
import { waitFor } from '@warmhouse/shared';
import { clusterPostmasterPid, startPostgresCluster, stopClusterIfRunning } from '../../cdc/src/runtime/postgres';
import { SLOT } from '../../cdc/src/runtime/prepare-source';
import { commandLineOf, isAlive, PidRegistry, portInUse } from '../../cdc/src/runtime/processes';
import { procStat } from '../../cdc/src/runtime/sockets';
import { portsFor, REPO_ROOT, STATE_ROOT } from '../../scripts/stack/layout';
import { TEST_PORT_BASE } from '../stack-endpoints';

/**
 * Issue 23, with real processes and real signals: a taken port stops `npm start` and the test stack before they
 * start anything, naming the port and its holder; a run SIGKILLed leaves no process and no port behind (its
 * supervisor stops them), and the test stack's replication slot is dropped as by a normal stop.
 *
 * Own port bases, never the run's own test stack (TEST_STACK_PORT_BASE) nor its 3-broker one (+500):
 * `npm start` on TEST_STACK_LIFECYCLE_PORT_BASE (default TEST_STACK_PORT_BASE + 1000), the child test stack 500 above.
 */
const NPM_START_BASE = Number(process.env.TEST_STACK_LIFECYCLE_PORT_BASE ?? TEST_PORT_BASE + 1000);
const CHILD_STACK_BASE = NPM_START_BASE + 500;
const NPM_START_STATE = path.join(STATE_ROOT, `lifecycle-npm-start-${NPM_START_BASE}`);
/** the folder test/global-setup.ts uses for TEST_STACK_PORT_BASE=CHILD_STACK_BASE */
const CHILD_STACK_STATE = path.join(STATE_ROOT, `test-${CHILD_STACK_BASE}`);
/** the bound for a killed run's processes and ports to be gone */
const GONE_WITHIN_MS = 30_000;

/** A child process whose output and exit are collected for polling. */
function startChild(command: string, args: string[], env: Record<string, string>) {
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let exitCode: number | undefined;
  child.stdout.on('data', (d: Buffer) => (stdout += String(d)));
  child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
  child.once('exit', (code, signal) => (exitCode = code ?? (signal ? 128 : -1)));
  return {
    pid: child.pid!,
    kill: (signal: NodeJS.Signals) => child.kill(signal),
    stdout: () => stdout,
    stderr: () => stderr,
    exitCode: () => exitCode,
    /** resolves once `ready()` holds; fails at once, with its output, if the child exits first */
    async until(what: string, ready: () => boolean, timeoutMs: number): Promise<void> {
      const state = await waitFor(what, () => (ready() ? 'ready' : exitCode !== undefined ? 'exited' : undefined), {
        timeoutMs,
        intervalMs: 250,
      });
      if (state === 'exited')
        throw new Error(`${command} exited with ${exitCode} before ${what}:\n${stdout.slice(-3000)}\n${stderr}`);
    },
    async exited(timeoutMs: number): Promise<number> {
      return waitFor(`${command} to exit`, () => exitCode, { timeoutMs, intervalMs: 250 });
    },
  };
}

/** A listener that accepts connections and never answers (the worst kind of squatter). */
async function occupy(port: number): Promise<net.Server> {
  const server = net.createServer(() => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}

/** Every live process below `root` (the launcher chain of `npm start`, say), read from /proc. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = procStat(Number(entry))?.ppid;
    if (ppid !== undefined) children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found.filter(isAlive);
}

function recordedPids(stateDir: string): Record<string, number> {
  const file = path.join(stateDir, 'pids.json');
  if (!existsSync(file)) return {};
  const entries = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { pid: number }>;
  return Object.fromEntries(Object.entries(entries).map(([name, { pid }]) => [name, pid]));
}

/** Processes whose command line names the state folder (the supervisor, the JVMs, the postmaster). */
function processesMentioning(stateDir: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => pid !== process.pid && isAlive(pid) && (commandLineOf(pid)?.includes(stateDir) ?? false));
}

async function portsInUse(ports: number[]): Promise<number[]> {
  const used: number[] = [];
  for (const port of ports) if (await portInUse(port)) used.push(port);
  return used;
}

/** Waits (at most the 30 s) until no pid of `pids` runs and no port of `ports` is taken. */
async function expectAllGone(pids: number[], ports: number[], stateDir: string): Promise<void> {
  const started = Date.now();
  await waitFor(
    'every process of the killed run gone and every port free',
    async () => (pids.some(isAlive) || (await portsInUse(ports)).length > 0 ? undefined : true),
    { timeoutMs: GONE_WITHIN_MS, intervalMs: 250 },
  ).catch(async (err: Error) => {
    const log = path.join(stateDir, 'supervisor.log');
    throw new Error(
      `${err.message}\nstill alive: ${pids.filter(isAlive).join(', ') || 'none'}; ports taken: ${(await portsInUse(ports)).join(', ') || 'none'}\nsupervisor log:\n${existsSync(log) ? readFileSync(log, 'utf8') : '(none)'}`,
    );
  });
  process.stdout.write(`[lifecycle] killed run gone in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

/** Stops whatever a failed test left in one of our state folders (by recorded pid), then removes the folder. */
async function cleanUp(stateDir: string): Promise<void> {
  await new PidRegistry(path.join(stateDir, 'pids.json')).stopLeftovers(() => undefined, {
    graceMs: 5_000,
    parallel: true,
  });
  try {
    stopClusterIfRunning(stateDir, () => undefined, 10);
  } catch {
    /* nothing there */
  }
  rmSync(stateDir, { recursive: true, force: true });
}

const npmStartPorts = () => {
  const p = portsFor(NPM_START_BASE);
  return [
    p.proxy,
    p.proxyAdmin,
    p.cdcMonitor,
    p.monolith,
    p.deviceManagement,
    p.telemetry,
    p.connect,
    p.kafka,
    p.kafkaController,
    p.postgres,
  ];
};
const testStackPorts = () => {
  const p = portsFor(CHILD_STACK_BASE);
  return [p.postgres, p.kafka, p.kafkaController, p.connect];
};

describe('stack lifecycle (issue 23)', () => {
  beforeAll(async () => {
    await cleanUp(NPM_START_STATE);
    await cleanUp(CHILD_STACK_STATE);
  });
  afterAll(async () => {
    await cleanUp(NPM_START_STATE);
    await cleanUp(CHILD_STACK_STATE);
  });

  it('npm start refuses a taken port: one line naming the port and its holder, exit 3, nothing started', async () => {
    const port = portsFor(NPM_START_BASE).monolith;
    const squatter = await occupy(port);
    try {
      const npm = startChild('npm', ['start'], {
        STACK_PORT_BASE: String(NPM_START_BASE),
        STACK_STATE_DIR: NPM_START_STATE,
      });
      expect(await npm.exited(120_000)).toBe(3);
      const lines = npm
        .stderr()
        .split('\n')
        .filter((l) => l.includes(`port ${port}`));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`[stack] port ${port} (monolith stand-in) is in use by pid ${process.pid} (`);
      expect(lines[0]).toContain('STACK_PORT_BASE');
      expect(npm.stdout()).not.toContain('ready in');
      // nothing started: no recorded process, nothing running on the state folder, no other port of the stack taken
      expect(recordedPids(NPM_START_STATE)).toEqual({});
      expect(processesMentioning(NPM_START_STATE)).toEqual([]);
      expect(await portsInUse(npmStartPorts().filter((p) => p !== port))).toEqual([]);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  }, 150_000);

  it('the test stack (globalSetup) refuses a taken port the same way, exit 3, nothing started', async () => {
    const port = portsFor(CHILD_STACK_BASE).kafka;
    const squatter = await occupy(port);
    try {
      const setup = startChild(process.execPath, ['--import', 'tsx', 'test/support/test-stack-child.ts'], {
        TEST_STACK_PORT_BASE: String(CHILD_STACK_BASE),
      });
      expect(await setup.exited(120_000)).toBe(3);
      const lines = setup
        .stderr()
        .split('\n')
        .filter((l) => l.includes(`port ${port}`));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`[test stack] port ${port} (Kafka node 1) is in use by pid ${process.pid} (`);
      expect(lines[0]).toContain('TEST_STACK_PORT_BASE');
      expect(setup.stdout()).not.toContain('test stack ready');
      expect(recordedPids(CHILD_STACK_STATE)).toEqual({});
      expect(processesMentioning(CHILD_STACK_STATE)).toEqual([]);
      expect(await portsInUse(testStackPorts().filter((p) => p !== port))).toEqual([]);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  }, 150_000);

  it('a test stack whose jest process is SIGKILLed: every process gone, every port free, the slot dropped', async () => {
    const ports = portsFor(CHILD_STACK_BASE);
    const holder = startChild(process.execPath, ['--import', 'tsx', 'test/support/test-stack-child.ts'], {
      TEST_STACK_PORT_BASE: String(CHILD_STACK_BASE),
    });
    await holder.until('the child test stack to be ready', () => holder.stdout().includes('test stack ready'), 400_000);

    const recorded = recordedPids(CHILD_STACK_STATE);
    expect(Object.keys(recorded).sort()).toEqual(['connect', 'kafka', 'supervisor']);
    const postmaster = clusterPostmasterPid(CHILD_STACK_STATE);
    expect(postmaster).toBeDefined();
    const pids = [...Object.values(recorded), postmaster!, holder.pid];
    expect(pids.every(isAlive)).toBe(true);
    expect(await portsInUse(testStackPorts())).toEqual(testStackPorts());
    const superuserUrl = `postgres://postgres@127.0.0.1:${ports.postgres}/smart_home`;
    const slots = async (url: string) => {
      const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
      await client.connect();
      try {
        return (await client.query<{ slot_name: string }>('SELECT slot_name FROM pg_replication_slots')).rows.map(
          (r) => r.slot_name,
        );
      } finally {
        await client.end();
      }
    };
    expect(await slots(superuserUrl)).toContain(SLOT);

    holder.kill('SIGKILL');
    await expectAllGone(pids, testStackPorts(), CHILD_STACK_STATE);
    expect(processesMentioning(CHILD_STACK_STATE)).toEqual([]);

    // the slot went as with a normal stop: bring the cluster back up and look
    const postgres = startPostgresCluster(CHILD_STACK_STATE, ports.postgres, () => undefined);
    try {
      expect(await slots(superuserUrl)).not.toContain(SLOT);
    } finally {
      postgres.stop();
    }
  }, 500_000);

  it('npm start SIGKILLed while it starts the stack: every process gone, every port free', async () => {
    const npm = startChild('npm', ['start'], {
      STACK_PORT_BASE: String(NPM_START_BASE),
      STACK_STATE_DIR: NPM_START_STATE,
    });
    // killed mid-start, as a CI timeout or a closed terminal would: PostgreSQL is up and Kafka is being started
    await npm.until('npm start to launch Kafka', () => recordedPids(NPM_START_STATE).kafka !== undefined, 300_000);

    const recorded = recordedPids(NPM_START_STATE);
    expect(recorded.supervisor).toBeDefined();
    const launchers = descendants(npm.pid); // sh -c tsx …, tsx's launcher, the node process running start.ts
    expect(launchers.length).toBeGreaterThanOrEqual(3);
    const postmaster = clusterPostmasterPid(NPM_START_STATE);
    expect(postmaster).toBeDefined();
    const pids = [...new Set([npm.pid, ...launchers, ...Object.values(recorded), postmaster!])];

    npm.kill('SIGKILL'); // npm alone: its script's processes are not in the signal's way
    await expectAllGone(pids, npmStartPorts(), NPM_START_STATE);
    expect(processesMentioning(NPM_START_STATE)).toEqual([]);
    expect(recordedPids(NPM_START_STATE)).toEqual({});
  }, 400_000);
});
