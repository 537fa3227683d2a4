/**
 * Whose is the listener on a port of the stack — the decision alone, no I/O (processes.ts gathers the facts from
 * /proc and the stack's pid registry). A stack that (re)starts one of its parts may find the part's port still held
 * by that part's previous incarnation: a Kafka Connect worker just stopped whose JVM still closes its sockets, a
 * leftover of a crashed run on the same state folder being stopped. That port is "not free yet" — wait for it,
 * with a deadline —, never "a foreign program, refuse". Anything else holding it is foreign.
 */

/** A process the stack started, as its pid registry recorded it: pid and start time (a recycled pid has another). */
export interface Incarnation {
  pid: number;
  /** /proc/<pid>/stat field 22, when it was read */
  startTime?: number;
}

/** What could be read about a process holding a listening socket. */
export interface HolderFacts {
  pid: number;
  startTime?: number;
  pgid?: number;
  /** empty or absent for a process being torn down (its leader's memory is gone already) */
  commandLine?: string;
}

/** Who the stack is, for this decision. */
export interface StackIdentity {
  /** the process started just now, whose readiness is being checked (absent before anything is started) */
  current?: number;
  /** every process this stack's pid registry recorded: running ones and those stopped or exited since */
  incarnations: readonly Incarnation[];
  /** a string only this stack's processes carry on their command line (its state folder and a path separator) */
  marker?: string;
}

export type HolderKind = 'current' | 'previous' | 'foreign';

const sameProcess = (holder: { pid: number; startTime?: number }, known: Incarnation): boolean =>
  holder.pid === known.pid &&
  (holder.startTime === undefined || known.startTime === undefined || holder.startTime === known.startTime);

/**
 * `current`: the process just started, or one of its process group (every managed child leads its own group).
 * `previous`: a process this stack recorded (same pid and start time), one of such a process's group, or a process
 * whose command line carries the stack's marker. `foreign`: anything else.
 */
export function classifyHolder(holder: HolderFacts, stack: StackIdentity): HolderKind {
  if (stack.current !== undefined && (holder.pid === stack.current || holder.pgid === stack.current)) return 'current';
  if (stack.incarnations.some((known) => sameProcess(holder, known))) return 'previous';
  if (
    holder.pgid !== undefined &&
    holder.pgid !== holder.pid &&
    stack.incarnations.some((known) => known.pid === holder.pgid)
  )
    return 'previous';
  if (stack.marker && holder.commandLine?.includes(stack.marker)) return 'previous';
  return 'foreign';
}

/** What /proc shows of one port. */
export interface PortObservation {
  /** whether anything listens on the port (undefined: /proc/net unreadable) */
  listening: boolean | undefined;
  /** the processes holding the listening socket, as far as they could be read (possibly none) */
  holders: readonly HolderFacts[];
  /** whether a process the stack recorded is still being torn down (it may hold the port unseen) */
  incarnationExiting: boolean;
}

export type PortVerdict =
  /** nothing listens */
  | { verdict: 'free' }
  /** the process just started (or its group) holds it */
  | { verdict: 'ours' }
  /** the stack's own previous incarnation still holds it: not free yet, wait (with a deadline) */
  | { verdict: 'wait'; pids: number[] }
  /** another program holds it: refuse */
  | { verdict: 'foreign'; pids: number[] }
  /** something listens and nobody can be named (another user's process; nothing of the stack is exiting) */
  | { verdict: 'unknown' };

/** The decision for one port; a foreign holder wins over everything else (it will not go away by waiting). */
export function judgePort(seen: PortObservation, stack: StackIdentity): PortVerdict {
  if (seen.listening === false) return { verdict: 'free' };
  const kinds = seen.holders.map((holder) => ({ pid: holder.pid, kind: classifyHolder(holder, stack) }));
  const pidsOf = (kind: HolderKind) => kinds.filter((k) => k.kind === kind).map((k) => k.pid);
  if (pidsOf('foreign').length > 0) return { verdict: 'foreign', pids: pidsOf('foreign') };
  if (pidsOf('previous').length > 0) return { verdict: 'wait', pids: pidsOf('previous') };
  if (pidsOf('current').length > 0) return { verdict: 'ours' };
  return seen.incarnationExiting ? { verdict: 'wait', pids: [] } : { verdict: 'unknown' };
}
