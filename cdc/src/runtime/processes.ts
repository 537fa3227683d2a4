import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { delay } from '@warmhouse/shared';
import { judgePort, type HolderFacts, type Incarnation, type StackIdentity } from './port-holders';
import { hasRunningThreads, listenersOn, procStat } from './sockets';

/** A child process started in its own process group, stopped again by its process id (never by name). */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  readonly exited: Promise<number | null>;
  stop(graceMs?: number): Promise<void>;
}

interface RegistryEntry {
  pid: number;
  marker: string;
  /** /proc/<pid>/stat start time when recorded (older files lack it) */
  startTime?: number;
}

/** How many stopped or exited processes a registry remembers (see `incarnations`). */
const RETIRED_KEPT = 50;

/**
 * Records every pid the stack started, so a later run can stop leftovers of a crashed one. Processes that exited or
 * were stopped are remembered a while longer (in `<name>.retired.json` beside the file), so a port still held by
 * one of them while it is torn down is known as the stack's own (see port-holders.ts).
 */
export class PidRegistry {
  private readonly retiredFile: string;

  constructor(private readonly file: string) {
    this.retiredFile = file.replace(/\.json$/, '') + '.retired.json';
  }

  private read(): Record<string, RegistryEntry> {
    return existsSync(this.file) ? (JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, RegistryEntry>) : {};
  }

  /** The last processes that were recorded here and have exited or were stopped since (or are being torn down). */
  retired(): Incarnation[] {
    return existsSync(this.retiredFile) ? (JSON.parse(readFileSync(this.retiredFile, 'utf8')) as Incarnation[]) : [];
  }

  private retire(entry: RegistryEntry): void {
    const kept = this.retired().filter((r) => !(r.pid === entry.pid && r.startTime === entry.startTime));
    kept.push({ pid: entry.pid, startTime: entry.startTime });
    writeFileSync(this.retiredFile, JSON.stringify(kept.slice(-RETIRED_KEPT), null, 2));
  }

  add(name: string, pid: number, marker: string): void {
    const all = this.read();
    const replaced = all[name];
    if (replaced && replaced.pid !== pid) this.retire(replaced);
    all[name] = { pid, marker, startTime: procStat(pid)?.startTime };
    writeFileSync(this.file, JSON.stringify(all, null, 2));
  }

  /** The recorded pid of `name`, if any. */
  pidOf(name: string): number | undefined {
    return this.read()[name]?.pid;
  }

  /** Forgets `name` (only if it is still `pid`, when given: a restarted process's new entry is not the old one's). */
  remove(name: string, pid?: number): void {
    const all = this.read();
    const entry = all[name];
    if (!entry || (pid !== undefined && entry.pid !== pid)) return;
    this.retire(entry);
    delete all[name];
    writeFileSync(this.file, JSON.stringify(all, null, 2));
  }

  /** Every process this registry recorded: those running now and the last ones that exited or were stopped. */
  incarnations(): Incarnation[] {
    return [...Object.values(this.read()).map(({ pid, startTime }) => ({ pid, startTime })), ...this.retired()];
  }

  /** Stops the recorded process `name` (whoever started it), if its command line still carries the marker. */
  async stop(name: string, graceMs = 20_000): Promise<void> {
    const entry = this.read()[name];
    if (entry && commandLineOf(entry.pid)?.includes(entry.marker)) await terminateGroup(entry.pid, graceMs);
    this.remove(name);
  }

  /**
   * Stops processes a previous run left behind. A recorded pid is only signalled when its command line
   * still contains the marker (the state folder), so a recycled pid of someone else's process is never hit.
   * `parallel` stops them all at once (the supervisor of an abandoned stack must finish within a bounded time);
   * `except` names entries to leave alone.
   */
  async stopLeftovers(
    log: (line: string) => void,
    { graceMs = 15_000, parallel = false, except = [] as string[] } = {},
  ): Promise<void> {
    const stopOne = async ([name, { pid, marker }]: [string, { pid: number; marker: string }]) => {
      if (commandLineOf(pid)?.includes(marker)) {
        log(`stopping leftover ${name} (pid ${pid})`);
        await terminateGroup(pid, graceMs);
      }
      this.remove(name);
    };
    const entries = Object.entries(this.read()).filter(([name]) => !except.includes(name));
    if (parallel) await Promise.all(entries.map(stopOne));
    else for (const entry of entries) await stopOne(entry);
  }

  /** Every recorded entry whose process still runs with its marker (what a sweep would stop). */
  running(): Array<{ name: string; pid: number }> {
    return Object.entries(this.read())
      .filter(([, { pid, marker }]) => isAlive(pid) && commandLineOf(pid)?.includes(marker))
      .map(([name, { pid }]) => ({ name, pid }));
  }
}

export function commandLineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return undefined;
  }
}

/**
 * True while `pid` runs. A zombie (exited, not yet reaped — the orphans of a killed parent may wait for a reaper
 * that never comes) counts as gone: it runs nothing and holds no port. A process whose leader thread shows as a
 * zombie while other threads still run (a JVM being torn down) is not gone: it still holds its ports.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const state = procStat(pid)?.state;
  if (state === 'Z' || state === 'X') return hasRunningThreads(pid);
  return true;
}

/** SIGTERM to the process group, then SIGKILL after the grace period; resolves once the leader is gone. */
export async function terminateGroup(pid: number, graceMs: number, exited?: Promise<unknown>): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  const gone = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (!isAlive(pid)) return true;
      if (exited && (await Promise.race([exited.then(() => true), delay(100).then(() => false)]))) return true;
      if (!exited) await delay(100);
    }
    return !isAlive(pid);
  };
  signal('SIGTERM');
  if (await gone(graceMs)) return;
  signal('SIGKILL');
  await gone(5_000);
}

export function startProcess(opts: {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  registry?: PidRegistry;
  marker?: string;
  /** do not keep this process's event loop alive for the child (a watchdog meant to outlive us) */
  unref?: boolean;
}): ManagedProcess {
  const fd = openSync(opts.logFile, 'a');
  const child: ChildProcess = spawn(opts.command, opts.args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true, // own process group: stopping it stops its children too, and Ctrl-C reaches only us
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${opts.name} (${opts.command})`);
  const pid = child.pid;
  if (opts.unref) child.unref();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  if (opts.registry) {
    opts.registry.add(opts.name, pid, opts.marker ?? opts.logFile);
    void exited.then(() => opts.registry?.remove(opts.name, pid));
  }
  return {
    name: opts.name,
    pid,
    logFile: opts.logFile,
    exited,
    stop: (graceMs = 20_000) => terminateGroup(pid, graceMs, exited),
  };
}

/**
 * True when something already listens on host:port: a connection is accepted (or hangs: a listener with a full
 * backlog), or /proc shows a listening socket on the port on any local address.
 */
export function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  if (listenersOn(port).listening) return Promise.resolve(true);
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.setTimeout(2_000, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** "pid 1234 (node /tmp/x.js)": a long command line keeps the program's name and its end (the script, the args). */
export function describeProcess(pid: number, maxLength = 100): string {
  const cmd = commandLineOf(pid)?.trim();
  if (!cmd) return `pid ${pid}`;
  if (cmd.length <= maxLength) return `pid ${pid} (${cmd})`;
  const program = path.basename(cmd.split(' ')[0] ?? '');
  return `pid ${pid} (${program} …${cmd.slice(-(maxLength - program.length - 2))})`;
}

/** Who holds `port`, in words: "pid 1234 (nc -l 17080)", or a note that it cannot be read. */
export function describePortHolder(port: number): string {
  const { pids } = listenersOn(port);
  return describeHolders(pids);
}

function describeHolders(pids: readonly number[]): string {
  return pids.length > 0
    ? pids.map((pid) => describeProcess(pid)).join(', ')
    : 'a program this user cannot see (try `ss -ltnp` as root)';
}

/** Exit code of `npm start`, the test stack's runner and the benches when a port they need is taken. */
export const PORT_IN_USE_EXIT_CODE = 3;

/** A port the stack needs is taken; the message is one line naming each port, what needs it and who holds it. */
export class PortsInUseError extends Error {
  readonly exitCode = PORT_IN_USE_EXIT_CODE;
  constructor(
    readonly taken: Array<{ port: number; what: string; holder: string }>,
    hint: string,
    /** false when the refusal comes from (re)starting one part of a running stack */
    nothingStarted = true,
  ) {
    super(
      `${taken.map((t) => `port ${t.port} (${t.what}) is in use by ${t.holder}`).join('; ')} — ${nothingStarted ? 'nothing was started' : 'it was not started'}; stop ${taken.length > 1 ? 'them' : 'it'} or ${hint}`,
    );
    this.name = 'PortsInUseError';
  }
}

/** For a script's last catch: a PortsInUseError ends the process with its one line and exit code 3. */
export function exitOnPortsInUse(err: unknown, prefix: string): void {
  if (err instanceof PortsInUseError) {
    process.stderr.write(`${prefix} ${err.message}\n`);
    process.exit(err.exitCode);
  }
}

/**
 * The stack a port check runs for: its pid registry (what it started, running or retired) and its state folder (on
 * the command line of every process it starts). A port held by one of these is the stack's own, not a foreign one.
 */
export interface OwnStack {
  registry: PidRegistry;
  stateDir: string;
}

/** Whether a process is still the one recorded (same start time) and has not finished exiting. */
const stillThere = (known: Incarnation): boolean =>
  isAlive(known.pid) && (known.startTime === undefined || procStat(known.pid)?.startTime === known.startTime);

function stackIdentity(own: OwnStack | undefined, current?: number): StackIdentity {
  return {
    current,
    incarnations: own?.registry.incarnations() ?? [],
    marker: own ? path.resolve(own.stateDir) + path.sep : undefined,
  };
}

function holderFacts(pid: number): HolderFacts {
  const stat = procStat(pid);
  return { pid, startTime: stat?.startTime, pgid: stat?.pgid, commandLine: commandLineOf(pid) };
}

/**
 * What /proc shows of `port`, and the decision about it (port-holders.ts). A listener nobody can be named for counts
 * as the stack's own while a process it stopped or saw exit is still there (still being torn down).
 */
function observePort(port: number, own: OwnStack | undefined) {
  const { listening, pids } = listenersOn(port);
  const incarnationExiting =
    listening !== false && pids.length === 0 && (own?.registry.retired().some(stillThere) ?? false);
  return judgePort({ listening, holders: pids.map(holderFacts), incarnationExiting }, stackIdentity(own));
}

/**
 * Checks every port before anything starts; throws a PortsInUseError naming each taken port and, when it can be
 * read, the program holding it. `hint` is how to choose other ports (e.g. "choose another STACK_PORT_BASE").
 * With `ownStack`, a port still held by a process of that stack (one just stopped, still being torn down) is waited
 * for, up to `waitMs`, instead of refused; a foreign holder is refused at once.
 */
export async function assertPortsFree(
  ports: Record<string, number>,
  {
    hint = 'choose another port base (STACK_PORT_BASE)',
    ownStack = undefined as OwnStack | undefined,
    waitMs = 30_000,
    nothingStarted = true,
  } = {},
): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const taken: Array<{ port: number; what: string; holder: string }> = [];
    const waiting: Array<{ port: number; what: string; pids: number[] }> = [];
    for (const [what, port] of Object.entries(ports)) {
      const seen = observePort(port, ownStack);
      if (seen.verdict === 'foreign') taken.push({ port, what, holder: describeHolders(seen.pids) });
      else if (seen.verdict === 'wait') waiting.push({ port, what, pids: seen.pids });
      else if (await portInUse(port)) taken.push({ port, what, holder: describePortHolder(port) });
    }
    if (taken.length > 0) throw new PortsInUseError(taken, hint, nothingStarted);
    if (waiting.length === 0) return;
    if (Date.now() >= deadline)
      throw new PortsInUseError(
        waiting.map(({ port, what, pids }) => ({
          port,
          what,
          holder: `${pids.length > 0 ? describeHolders(pids) : 'a process'} of this same stack that did not exit within ${Math.round(waitMs / 1000)} s`,
        })),
        hint,
        nothingStarted,
      );
    await delay(Math.min(200, Math.max(0, deadline - Date.now())));
  }
}

/** Another process than the one we started answers on a port of ours: readiness must not count it. */
export class ForeignListenerError extends Error {
  constructor(what: string, pid: number, port: number, holders: number[]) {
    super(
      `port ${port} is held by ${holders.map((h) => describeProcess(h)).join(', ')}, not by ${what} (pid ${pid}) that was started to listen there`,
    );
    this.name = 'ForeignListenerError';
  }
}

/**
 * Whether the process we started (`pid`, or a process of its group — every managed child leads its own) is the one
 * listening on `port`: 'ours', 'none' yet, or 'unknown' where /proc cannot tell; throws ForeignListenerError when
 * another process holds it. With `ownStack`, a port still held by an earlier process of that stack (the previous
 * incarnation of what was just started, being torn down) counts as 'none' yet, not as foreign.
 */
export function listenerOwnership(
  what: string,
  pid: number,
  port: number,
  { ownStack }: { ownStack?: OwnStack } = {},
): 'ours' | 'none' | 'unknown' {
  const { listening, pids } = listenersOn(port, [pid]);
  const seen = judgePort(
    { listening, holders: pids.map(holderFacts), incarnationExiting: false },
    stackIdentity(ownStack, pid),
  );
  switch (seen.verdict) {
    case 'foreign':
      throw new ForeignListenerError(what, pid, port, seen.pids);
    case 'free':
    case 'wait':
      return 'none';
    case 'ours':
      return 'ours';
    case 'unknown':
      return 'unknown';
  }
}

/**
 * Waits for `ready` — but fails at once, with the end of the log, if the process exits first (a crashed process
 * must not look like a slow one) or if another process holds one of its `ports`; once `ready`, requires that the
 * process itself listens on every port (a foreign program answering the probe is never taken for ours). With
 * `ownStack`, an earlier process of the same stack still holding a port is waited for, not refused.
 */
export async function untilReady<T>(
  proc: Pick<ManagedProcess, 'name' | 'pid' | 'exited'>,
  logFile: string,
  ready: Promise<T>,
  ports: number[] = [],
  { ownStack }: { ownStack?: OwnStack } = {},
): Promise<T> {
  let starting = true;
  const crashed = proc.exited.then((code): never => {
    if (starting)
      throw new Error(`${proc.name} exited with code ${code} during start-up; end of ${logFile}:\n${tail(logFile)}`);
    return undefined as never;
  });
  crashed.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const foreign = new Promise<never>((_, reject) => {
    const check = () => {
      try {
        for (const port of ports) listenerOwnership(proc.name, proc.pid, port, { ownStack });
        if (starting) timer = setTimeout(check, 500);
      } catch (err) {
        reject(err as Error);
      }
    };
    check();
  });
  foreign.catch(() => undefined);
  try {
    const value = await Promise.race([ready, crashed, foreign]);
    for (const port of ports) {
      const owner = listenerOwnership(proc.name, proc.pid, port, { ownStack });
      if (owner === 'none') throw new Error(`${proc.name} (pid ${proc.pid}) answered but does not listen on ${port}`);
    }
    return value;
  } finally {
    starting = false;
    clearTimeout(timer);
  }
}

export function tail(file: string, lines = 30): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

export const stateSubdir = (stateDir: string, ...parts: string[]) => path.join(stateDir, ...parts);
