/**
 * What one proxy process knows of the worker processes it runs beside (`PROXY_WORKERS`), and the "gather": ask every
 * worker for its in-memory view of something (shadow counters, breakers, metrics, …) and get all the answers back,
 * to merge them into one figure for the whole machine.
 *
 * A worker registers what it can answer (`answer(topic, handler)`); any worker may then `gather(topic)`: it answers
 * for itself, and the primary asks every other ready worker and relays their answers (or why one is missing — not
 * ready, exited, no answer within the timeout). A gather never fails: the asking worker's own answer is always in
 * it, so an admin endpoint degrades to "these workers answered" rather than to an error.
 *
 * With one worker (no primary) {@link localLink} answers from the process itself, so callers need no special case.
 * Messages travel over the cluster IPC channel with `advanced` serialization (structured clone: Buffers, typed arrays,
 * BigInt and Maps survive, e.g. encoded HDR histograms).
 */

/** Who answered: the worker's slot (0 … PROXY_WORKERS − 1, kept across restarts) and its process id. */
export interface WorkerIdentity {
  readonly slot: number;
  readonly pid: number;
}

/** A worker that is not in a gather's answers, and why. */
export interface MissingWorker {
  readonly slot: number;
  /** null: no process in the slot now (restarting) */
  readonly pid: number | null;
  readonly reason: string;
}

/** A slot of the fleet as the primary sees it. */
export interface SlotInfo {
  readonly slot: number;
  readonly pid: number | null;
  readonly state: 'starting' | 'ready' | 'restarting' | 'stopping';
  /** when the slot's current process was started */
  readonly startedAt: string | null;
  /** processes started in this slot after the first (each a replacement of one that exited) */
  readonly restarts: number;
  /** how the slot's last process ended, if one did */
  readonly lastExit: { at: string; code: number | null; signal: string | null } | null;
}

/** Every worker's answer to one gather. */
export interface Gathered<T> {
  /** workers configured (PROXY_WORKERS) */
  readonly expected: number;
  readonly answers: ReadonlyArray<{ readonly worker: WorkerIdentity; readonly value: T }>;
  readonly missing: readonly MissingWorker[];
  /** the primary's view of every slot (absent with one worker, or when the primary did not answer) */
  readonly slots?: readonly SlotInfo[];
  readonly primaryPid?: number;
}

/** Answers a gather for one topic in this process; `params` as given to `gather` (structured-cloneable). */
export type Answerer = (params: unknown) => unknown;

/** The fleet as one worker sees it. */
export interface FleetLink {
  /** this process */
  readonly self: WorkerIdentity;
  /** workers configured (1: a single process, no primary) */
  readonly expected: number;
  /** Registers (or replaces) what this process answers for `topic`. */
  answer(topic: string, handler: Answerer): void;
  /** Every worker's answer for `topic` (this process's own first). Never rejects. */
  gather<T>(topic: string, params?: unknown): Promise<Gathered<T>>;
  /** Tells the primary this worker is listening (no-op without one). */
  ready(): void;
  /** Stops listening for messages. */
  close(): void;
}

/** IPC message types between the primary and its workers (the `t` field). */
export const FLEET_MESSAGES = {
  /** worker → primary: listening */
  ready: 'strangler:fleet:ready',
  /** worker → primary: gather `topic` from the other workers */
  gather: 'strangler:fleet:gather',
  /** primary → worker: answer `topic` */
  ask: 'strangler:fleet:ask',
  /** worker → primary: the answer to an `ask` */
  reply: 'strangler:fleet:reply',
  /** primary → asking worker: the other workers' answers */
  gathered: 'strangler:fleet:gathered',
} as const;

export interface GatherMessage {
  t: typeof FLEET_MESSAGES.gather;
  id: number;
  topic: string;
  params: unknown;
}
export interface AskMessage {
  t: typeof FLEET_MESSAGES.ask;
  id: number;
  topic: string;
  params: unknown;
}
export type ReplyMessage = { t: typeof FLEET_MESSAGES.reply; id: number } & (
  { ok: true; value: unknown } | { ok: false; error: string }
);
export interface GatheredMessage {
  t: typeof FLEET_MESSAGES.gathered;
  id: number;
  expected: number;
  answers: Array<{ worker: WorkerIdentity; value: unknown }>;
  missing: MissingWorker[];
  slots: SlotInfo[];
  primaryPid: number;
}

/** How long the primary waits for the other workers' answers to one gather. */
export const GATHER_TIMEOUT_MS = 2_000;

const isMessage = (m: unknown, t: string): boolean =>
  typeof m === 'object' && m !== null && (m as { t?: unknown }).t === t;

type Outcome = { ok: true; value: unknown } | { ok: false; error: string };

async function answerOf(handlers: Map<string, Answerer>, topic: string, params: unknown): Promise<Outcome> {
  const handler = handlers.get(topic);
  if (!handler) return { ok: false, error: `no answer for topic "${topic}"` };
  try {
    return { ok: true, value: await handler(params) };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** Own answer first, then the others'; own failure is listed as missing like any other. */
function withOwn<T>(
  self: WorkerIdentity,
  own: Outcome,
  others: Omit<Gathered<T>, 'answers'> & { answers: Gathered<T>['answers'] },
): Gathered<T> {
  const answers = own.ok ? [{ worker: self, value: own.value as T }, ...others.answers] : [...others.answers];
  const missing = own.ok ? others.missing : [{ slot: self.slot, pid: self.pid, reason: own.error }, ...others.missing];
  return { ...others, answers, missing };
}

/** The link of a single proxy process (PROXY_WORKERS=1): a gather is this process's own answer. */
export function localLink(pid: number = process.pid): FleetLink {
  const handlers = new Map<string, Answerer>();
  const self = { slot: 0, pid };
  return {
    self,
    expected: 1,
    answer: (topic, handler) => void handlers.set(topic, handler),
    gather: async <T>(topic: string, params?: unknown) =>
      withOwn<T>(self, await answerOf(handlers, topic, params), { expected: 1, answers: [], missing: [] }),
    ready: () => undefined,
    close: () => undefined,
  };
}

/** The channel to the primary, as a cluster worker has it in `process` (injected by tests). */
export interface PrimaryChannel {
  send(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): void;
  off(event: 'message', listener: (message: unknown) => void): void;
  connected(): boolean;
}

/** The current process's channel to its cluster primary. */
export function processChannel(): PrimaryChannel {
  return {
    send: (m) => {
      process.send?.(m);
    },
    on: (e, l) => void process.on(e, l),
    off: (e, l) => void process.off(e, l),
    connected: () => process.connected === true,
  };
}

/**
 * The link of a cluster worker: answers the primary's asks, and gathers through the primary. When the primary does
 * not relay in time (it waits at most `timeoutMs` for the others), the gather holds this worker's answer only and
 * says so.
 */
export function workerLink(options: {
  self: WorkerIdentity;
  expected: number;
  channel?: PrimaryChannel;
  timeoutMs?: number;
}): FleetLink {
  const channel = options.channel ?? processChannel();
  const timeoutMs = options.timeoutMs ?? GATHER_TIMEOUT_MS;
  const handlers = new Map<string, Answerer>();
  const waiting = new Map<number, (m: GatheredMessage | undefined) => void>();
  let nextId = 1;

  const onMessage = (m: unknown): void => {
    if (isMessage(m, FLEET_MESSAGES.ask)) {
      const ask = m as AskMessage;
      void answerOf(handlers, ask.topic, ask.params).then((a) => {
        if (!channel.connected()) return;
        try {
          channel.send({ t: FLEET_MESSAGES.reply, id: ask.id, ...a } satisfies ReplyMessage);
        } catch (err) {
          // e.g. a value that cannot be cloned: say so rather than leave the primary waiting
          channel.send({
            t: FLEET_MESSAGES.reply,
            id: ask.id,
            ok: false,
            error: `answer not sendable: ${(err as Error).message}`,
          } satisfies ReplyMessage);
        }
      });
    } else if (isMessage(m, FLEET_MESSAGES.gathered)) {
      const g = m as GatheredMessage;
      waiting.get(g.id)?.(g);
    }
  };
  channel.on('message', onMessage);

  const others = (topic: string, params: unknown): Promise<GatheredMessage | undefined> => {
    if (!channel.connected()) return Promise.resolve(undefined);
    const id = nextId++;
    return new Promise((resolve) => {
      // the primary answers within its own timeout; this one only covers a primary that cannot answer at all
      const timer = setTimeout(() => finish(undefined), timeoutMs + 1_000);
      const finish = (g: GatheredMessage | undefined) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(g);
      };
      waiting.set(id, finish);
      try {
        channel.send({ t: FLEET_MESSAGES.gather, id, topic, params } satisfies GatherMessage);
      } catch {
        finish(undefined);
      }
    });
  };

  return {
    self: options.self,
    expected: options.expected,
    answer: (topic, handler) => void handlers.set(topic, handler),
    async gather<T>(topic: string, params?: unknown): Promise<Gathered<T>> {
      const [g, own] = await Promise.all([others(topic, params), answerOf(handlers, topic, params)]);
      const relayed: Omit<Gathered<T>, 'answers'> & { answers: Gathered<T>['answers'] } = g
        ? {
            expected: g.expected,
            answers: g.answers as Gathered<T>['answers'],
            missing: g.missing,
            slots: g.slots,
            primaryPid: g.primaryPid,
          }
        : {
            expected: options.expected,
            answers: [],
            missing: Array.from({ length: options.expected }, (_, slot) => slot)
              .filter((slot) => slot !== options.self.slot)
              .map((slot) => ({ slot, pid: null, reason: 'the primary did not relay this worker’s answer' })),
          };
      return withOwn<T>(options.self, own, relayed);
    },
    ready: () => {
      if (channel.connected()) channel.send({ t: FLEET_MESSAGES.ready });
    },
    close: () => {
      channel.off('message', onMessage);
      for (const finish of waiting.values()) finish(undefined);
    },
  };
}
