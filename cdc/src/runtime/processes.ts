import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { delay } from '@warmhouse/shared';

/** A child process started in its own process group, stopped again by its process id (never by name). */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  readonly exited: Promise<number | null>;
  stop(graceMs?: number): Promise<void>;
}

/** Records every pid the stack started, so a later run can stop leftovers of a crashed one. */
export class PidRegistry {
  constructor(private readonly file: string) {}

  private read(): Record<string, { pid: number; marker: string }> {
    return existsSync(this.file)
      ? (JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, { pid: number; marker: string }>)
      : {};
  }

  add(name: string, pid: number, marker: string): void {
    writeFileSync(this.file, JSON.stringify({ ...this.read(), [name]: { pid, marker } }, null, 2));
  }

  /** The recorded pid of `name`, if any. */
  pidOf(name: string): number | undefined {
    return this.read()[name]?.pid;
  }

  remove(name: string): void {
    const all = this.read();
    delete all[name];
    writeFileSync(this.file, JSON.stringify(all, null, 2));
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
   */
  async stopLeftovers(log: (line: string) => void): Promise<void> {
    for (const [name, { pid, marker }] of Object.entries(this.read())) {
      if (commandLineOf(pid)?.includes(marker)) {
        log(`stopping leftover ${name} (pid ${pid}) from an earlier run`);
        await terminateGroup(pid, 15_000);
      }
      this.remove(name);
    }
  }
}

export function commandLineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
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
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  if (opts.registry) {
    opts.registry.add(opts.name, pid, opts.marker ?? opts.logFile);
    void exited.then(() => opts.registry?.remove(opts.name));
  }
  return {
    name: opts.name,
    pid,
    logFile: opts.logFile,
    exited,
    stop: (graceMs = 20_000) => terminateGroup(pid, graceMs, exited),
  };
}

/** True when something already listens on host:port. */
export function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function assertPortsFree(ports: Record<string, number>): Promise<void> {
  const taken: string[] = [];
  for (const [what, port] of Object.entries(ports)) if (await portInUse(port)) taken.push(`${port} (${what})`);
  if (taken.length > 0) {
    throw new Error(
      `port(s) already in use by another process: ${taken.join(', ')}. Stop it, or choose another base with STACK_PORT_BASE.`,
    );
  }
}

export function tail(file: string, lines = 30): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

export const stateSubdir = (stateDir: string, ...parts: string[]) => path.join(stateDir, ...parts);
