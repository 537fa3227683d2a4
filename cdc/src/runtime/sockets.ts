import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Who listens on a TCP port, read from Linux's /proc: the listening sockets' inodes from /proc/net/tcp{,6}, then the
 * processes holding a file descriptor on one of those inodes (/proc/<pid>/fd). Another user's processes are only
 * visible to root; when /proc tells nothing, `ss -ltnp` is asked, if present.
 */

/** Fields of /proc/<pid>/stat that the stack uses; undefined when the process does not exist (any more). */
export function procStat(pid: number): { state: string; ppid: number; pgid: number; startTime: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
  //  priority nice threads itrealvalue starttime …" — comm may contain spaces and parentheses, so split after the last ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    state: fields[0] ?? '?',
    ppid: Number(fields[1]),
    pgid: Number(fields[2]),
    startTime: Number(fields[19]),
  };
}

/** Inodes of the sockets listening on `port` (any local address, IPv4 or IPv6); undefined if /proc/net is unreadable. */
export function listeningInodes(port: number): Set<string> | undefined {
  const inodes = new Set<string>();
  let readable = false;
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    readable = true;
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (cols.length < 10 || cols[3] !== '0A') continue; // 0A = LISTEN
      if (cols[1]?.split(':')[1] === hexPort && cols[9] && cols[9] !== '0') inodes.add(cols[9]);
    }
  }
  return readable ? inodes : undefined;
}

function allPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return [];
  }
}

/** The threads of `pid` other than its leader (from /proc/<pid>/task); empty when it is gone. */
function otherThreads(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`)
      .filter((t) => /^\d+$/.test(t) && Number(t) !== pid)
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * Whether a process whose leader thread shows as a zombie still has threads that run. That is a process being torn
 * down (a JVM's leader exits first while its other threads still close files and unmap the heap) or one whose main
 * thread ended alone: either way it still holds its descriptors, its listening sockets included. /proc/<pid>/fd and
 * /proc/<pid>/cmdline of such a process read empty; only /proc/<pid>/task/<tid>/ shows them.
 */
export function hasRunningThreads(pid: number): boolean {
  return otherThreads(pid).some((tid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      return state !== 'Z' && state !== 'X';
    } catch {
      return false;
    }
  });
}

/** Whether the descriptor folder `fdDir` holds a socket whose inode is among `inodes`. */
function holdsSocket(fdDir: string, inodes: Set<string>): boolean {
  let fds: string[];
  try {
    fds = readdirSync(fdDir);
  } catch {
    return false; // gone, or another user's process and we are not root
  }
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`${fdDir}/${fd}`);
    } catch {
      continue;
    }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m?.[1] && inodes.has(m[1])) return true;
  }
  return false;
}

/**
 * The processes (among `candidates`, default all) that hold a descriptor on one of `inodes`. A process whose leader
 * thread is a zombie while other threads still run is looked at through those threads (see hasRunningThreads).
 */
export function pidsHoldingSockets(inodes: Set<string>, candidates: number[] = allPids()): number[] {
  if (inodes.size === 0) return [];
  return candidates.filter(
    (pid) =>
      holdsSocket(`/proc/${pid}/fd`, inodes) ||
      (procStat(pid)?.state === 'Z' &&
        otherThreads(pid).some((tid) => holdsSocket(`/proc/${pid}/task/${tid}/fd`, inodes))),
  );
}

/** `ss -ltnp` as a fallback: pids it names for a listener on `port` (empty when ss is absent or tells nothing). */
function pidsFromSs(port: number): number[] {
  const ss = spawnSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8', timeout: 5_000 });
  if (ss.error || ss.status !== 0) return [];
  return [...new Set([...ss.stdout.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])))];
}

export interface PortListeners {
  /** whether anything listens on the port, as far as /proc shows (undefined: /proc/net unreadable) */
  listening: boolean | undefined;
  /** the processes holding the listening socket, as far as they can be read */
  pids: number[];
}

/** Who listens on `port`. Looks among `candidates` first (cheap), then among every process, then asks ss. */
export function listenersOn(port: number, candidates?: number[]): PortListeners {
  const inodes = listeningInodes(port);
  if (inodes === undefined) return { listening: undefined, pids: pidsFromSs(port) };
  if (inodes.size === 0) return { listening: false, pids: [] };
  let pids = candidates ? pidsHoldingSockets(inodes, candidates) : [];
  if (pids.length === 0) pids = pidsHoldingSockets(inodes);
  if (pids.length === 0) pids = pidsFromSs(port);
  return { listening: true, pids };
}
