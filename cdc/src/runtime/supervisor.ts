import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { delay } from '@warmhouse/shared';
import { dropSlot } from './prepare-source';
import { clusterPostmasterPid, stopClusterIfRunning } from './postgres';
import { commandLineOf, isAlive, PidRegistry, startProcess, type ManagedProcess } from './processes';
import { procStat } from './sockets';

/**
 * The watchdog of one stack. `startBackbone` starts it (detached, its own session) before the stack's first child
 * and records it in the stack's pid registry as `supervisor`. It polls the processes that own the run — the one
 * that started the stack and the launchers above it (tsx, `sh -c`, npm) — every half second; as soon as one of
 * them is gone, for whatever reason, SIGKILL included, it kills the rest of that chain and stops what the run left:
 * every process recorded in the registry (by pid, checked against its command line — never by name), PostgreSQL
 * (by its pid file), and, for stacks that drop it on a normal stop (tests, benches), the connector and the
 * replication slot. A normal stop ends the supervisor first (SIGTERM = stand down).
 */

export const SUPERVISOR_NAME = 'supervisor';
const SUPERVISOR_MAIN = path.join(__dirname, 'supervisor-main.ts');
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export interface WatchedProcess {
  pid: number;
  /** from /proc/<pid>/stat: a recycled pid has another start time */
  startTime: number;
  command: string;
}

export interface SupervisorConfig {
  owners: WatchedProcess[];
  /** SIGTERM → SIGKILL grace of every recorded process when the run is abandoned */
  graceMs: number;
  /** what a normal stop of this stack also removes: its connector and its replication slot */
  dropReplicationSlot?: { superuserUrl: string; slot: string; connectUrl: string; connector: string };
}

export const supervisorConfigFile = (stateDir: string) => path.join(stateDir, 'supervisor.json');

/** npm (`npm start`, `npm run …`, `npm exec`/npx), `sh -c tsx …` as npm runs a script, and tsx's own launcher. */
export function isLauncher(commandLine: string): boolean {
  return (
    /^npm( |$)/.test(commandLine) ||
    /\/npm-cli\.js( |$)/.test(commandLine) ||
    /^(\S*\/)?(sh|bash|dash) -c (\S*\/)?tsx /.test(commandLine) ||
    /\/(\.bin\/tsx|tsx\/dist\/cli\.m?js)( |$)/.test(commandLine)
  );
}

function watched(pid: number): WatchedProcess | undefined {
  const stat = procStat(pid);
  return stat ? { pid, startTime: stat.startTime, command: commandLineOf(pid)?.trim() ?? '' } : undefined;
}

/**
 * The processes that own a run started by `pid`: itself and the launchers right above it. `npm start` is
 * npm → sh -c → tsx → node; killing npm alone (or tsx) leaves the node process running the stack, so each of them
 * counts as the run's parent. A non-launcher ancestor (a shell, jest) ends the chain.
 */
export function ownerChain(pid = process.pid): WatchedProcess[] {
  const chain: WatchedProcess[] = [];
  const self = watched(pid);
  if (self) chain.push(self);
  let parent = procStat(pid)?.ppid;
  while (parent !== undefined && parent > 1 && chain.length < 8) {
    const next = watched(parent);
    if (!next || !isLauncher(next.command)) break;
    chain.push(next);
    parent = procStat(parent)?.ppid;
  }
  return chain;
}

/** Whether a watched process is still the same running process (not gone, not a zombie, pid not recycled). */
export function stillRunning(p: WatchedProcess): boolean {
  return isAlive(p.pid) && procStat(p.pid)?.startTime === p.startTime;
}

/** Starts the supervisor of the stack in `stateDir`, watching `owners`. */
export function startSupervisor(opts: {
  stateDir: string;
  registry: PidRegistry;
  config: SupervisorConfig;
}): ManagedProcess {
  writeFileSync(supervisorConfigFile(opts.stateDir), JSON.stringify(opts.config, null, 2));
  return startProcess({
    name: SUPERVISOR_NAME,
    command: process.execPath,
    args: ['--import', 'tsx', SUPERVISOR_MAIN, opts.stateDir],
    cwd: REPO_ROOT,
    logFile: path.join(opts.stateDir, 'supervisor.log'),
    registry: opts.registry,
    marker: opts.stateDir,
    // never keeps the parent alive: it exists to outlive it
    unref: true,
  });
}

/**
 * Stops everything an abandoned run left in `stateDir`, within a bounded time: the connector (when the stack drops
 * its slot on a normal stop), every recorded process at once (SIGTERM, SIGKILL after the grace), the replication
 * slot, then PostgreSQL (fast, then immediate). A second pass catches what the dead parent's last step (a
 * `pg_ctl start`, a spawn) brought up after the first.
 */
export async function sweepAbandonedStack(
  stateDir: string,
  config: Pick<SupervisorConfig, 'graceMs' | 'dropReplicationSlot'>,
  log: (line: string) => void,
): Promise<void> {
  const registry = new PidRegistry(path.join(stateDir, 'pids.json'));
  const slot = config.dropReplicationSlot;
  for (let pass = 1; pass <= 2; pass++) {
    if (slot && registry.running().some((p) => p.name === 'connect')) {
      await fetch(`${slot.connectUrl}/connectors/${slot.connector}`, {
        method: 'DELETE',
        signal: AbortSignal.timeout(3_000),
      }).then(
        (res) => log(`deleted connector ${slot.connector}: HTTP ${res.status}`),
        (err: unknown) => log(`could not delete connector ${slot.connector}: ${String(err)}`),
      );
    }
    await registry.stopLeftovers(log, { graceMs: config.graceMs, parallel: true, except: [SUPERVISOR_NAME] });
    if (slot && clusterPostmasterPid(stateDir) !== undefined) {
      await dropSlot(slot.superuserUrl, slot.slot).then(
        () => log(`dropped replication slot ${slot.slot} (if it existed)`),
        (err: unknown) => log(`could not drop replication slot ${slot.slot}: ${String(err)}`),
      );
    }
    try {
      stopClusterIfRunning(stateDir, log, 10);
    } catch (err) {
      log(`could not stop PostgreSQL: ${String(err)}`);
    }
    if (pass === 1) await delay(2_000);
  }
}

/** The supervisor's own loop (supervisor-main.ts). */
export async function superviseStack(stateDir: string, log: (line: string) => void): Promise<void> {
  const file = supervisorConfigFile(stateDir);
  const config = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as SupervisorConfig) : undefined;
  if (!config || config.owners.length === 0) {
    log(`no supervisor configuration in ${file}: nothing to watch`);
    return;
  }
  log(`watching ${config.owners.map((o) => `pid ${o.pid} (${o.command})`).join(' ← ')}`);
  for (;;) {
    const gone = config.owners.find((o) => !stillRunning(o));
    if (gone) {
      log(`pid ${gone.pid} (${gone.command}) is gone: stopping what its run left`);
      break;
    }
    await delay(500);
  }
  const started = Date.now();
  // the rest of the owner chain (e.g. the node process running the stack when npm was killed) dies with the run
  for (const owner of config.owners) {
    if (stillRunning(owner)) {
      log(`killing pid ${owner.pid} (${owner.command}), part of the abandoned run`);
      try {
        process.kill(owner.pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
    }
  }
  await sweepAbandonedStack(stateDir, config, log);
  new PidRegistry(path.join(stateDir, 'pids.json')).remove(SUPERVISOR_NAME);
  log(`stack stopped in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
