/**
 * `PROXY_WORKERS` > 1: the primary process of a node:cluster fleet. It runs no proxy itself; it forks one worker per
 * slot (each worker runs the whole proxy, client and admin ports shared through the primary, which hands
 * connections out round-robin on Linux), replaces a worker that exits while the fleet is not stopping (after a
 * backoff that grows while a slot keeps dying young), forwards SIGTERM/SIGINT so every worker drains (the proxy's own
 * graceful stop), and relays gathers between workers (./link.ts). A worker whose primary dies exits on its own
 * (node:cluster does that when the IPC channel closes unexpectedly), so no worker outlives the fleet.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '@warmhouse/shared';
import {
  FLEET_MESSAGES,
  GATHER_TIMEOUT_MS,
  type AskMessage,
  type GatherMessage,
  type GatheredMessage,
  type MissingWorker,
  type ReplyMessage,
  type SlotInfo,
  type WorkerIdentity,
} from './link';

/** Environment variable the primary sets for each worker: its slot (0 … PROXY_WORKERS − 1). */
export const WORKER_SLOT_ENV = 'PROXY_WORKER_SLOT';

/** Log events of the primary. */
export const FLEET_EVENTS = {
  started: 'workers_started',
  exited: 'worker_exited',
  replaced: 'worker_replaced',
  stopping: 'workers_stopping',
  stopped: 'workers_stopped',
  killed: 'worker_killed_after_grace',
} as const;

/** Restart backoff: `baseMs` doubled per consecutive early death of a slot, at most `maxMs`. */
export interface Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
  /** a worker that stayed up this long after becoming ready resets its slot's count of early deaths */
  readonly stableMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 100, maxMs: 10_000, stableMs: 10_000 };

/** Delay before restarting a slot whose process died `failures` times in a row (1: the first death). */
export function restartDelayMs(failures: number, backoff: Backoff = DEFAULT_BACKOFF): number {
  return Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, failures - 1));
}

/** A worker as the gather broker needs it. */
export interface BrokerWorker extends WorkerIdentity {
  send(message: unknown): void;
  connected(): boolean;
}

interface PendingGather {
  readonly asker: BrokerWorker;
  readonly askerId: number;
  readonly waiting: Map<number, BrokerWorker>;
  readonly answers: Array<{ worker: WorkerIdentity; value: unknown }>;
  readonly missing: MissingWorker[];
  timer?: NodeJS.Timeout;
}

/**
 * Relays gathers (primary side): asks every ready worker but the asker, collects their replies until all answered,
 * one exited, or `timeoutMs` passed, and sends the asker what it got and who is missing and why.
 */
export class GatherBroker {
  private readonly pending = new Map<number, PendingGather>();
  private nextId = 1;

  constructor(
    private readonly options: {
      expected: number;
      primaryPid: number;
      timeoutMs: number;
      /** every slot as the primary sees it */
      slots: () => SlotInfo[];
      /** the workers that are ready to answer */
      ready: () => BrokerWorker[];
    },
  ) {}

  /** `asker` wants `m.topic` from the other workers. */
  gather(asker: BrokerWorker, m: GatherMessage): void {
    const id = this.nextId++;
    const targets = this.options.ready().filter((w) => w.slot !== asker.slot && w.connected());
    const p: PendingGather = { asker, askerId: m.id, waiting: new Map(), answers: [], missing: [] };
    for (const s of this.options.slots()) {
      if (s.slot === asker.slot || targets.some((w) => w.slot === s.slot)) continue;
      p.missing.push({ slot: s.slot, pid: s.pid, reason: `worker ${s.state}` });
    }
    this.pending.set(id, p);
    for (const w of targets) {
      p.waiting.set(w.slot, w);
      try {
        w.send({ t: FLEET_MESSAGES.ask, id, topic: m.topic, params: m.params } satisfies AskMessage);
      } catch (err) {
        p.waiting.delete(w.slot);
        p.missing.push({ slot: w.slot, pid: w.pid, reason: `cannot ask: ${(err as Error).message}` });
      }
    }
    if (p.waiting.size === 0) return this.finish(id);
    p.timer = setTimeout(() => {
      for (const w of p.waiting.values())
        p.missing.push({ slot: w.slot, pid: w.pid, reason: `no answer within ${this.options.timeoutMs} ms` });
      p.waiting.clear();
      this.finish(id);
    }, this.options.timeoutMs);
  }

  /** A worker's reply to an ask. */
  reply(from: WorkerIdentity, m: ReplyMessage): void {
    const p = this.pending.get(m.id);
    const w = p?.waiting.get(from.slot);
    if (!p || !w || w.pid !== from.pid) return;
    p.waiting.delete(from.slot);
    if (m.ok) p.answers.push({ worker: { slot: w.slot, pid: w.pid }, value: m.value });
    else p.missing.push({ slot: w.slot, pid: w.pid, reason: m.error });
    if (p.waiting.size === 0) this.finish(m.id);
  }

  /** A worker exited: it answers no pending gather (and a gather it asked for is dropped). */
  exited(who: WorkerIdentity): void {
    for (const [id, p] of this.pending) {
      if (p.asker.slot === who.slot && p.asker.pid === who.pid) {
        clearTimeout(p.timer);
        this.pending.delete(id);
        continue;
      }
      const w = p.waiting.get(who.slot);
      if (!w || w.pid !== who.pid) continue;
      p.waiting.delete(who.slot);
      p.missing.push({ slot: w.slot, pid: w.pid, reason: 'exited before answering' });
      if (p.waiting.size === 0) this.finish(id);
    }
  }

  /** Gathers not finished yet. */
  get inFlight(): number {
    return this.pending.size;
  }

  close(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }

  private finish(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(id);
    if (!p.asker.connected()) return;
    const answers = [...p.answers].sort((a, b) => a.worker.slot - b.worker.slot);
    const missing = [...p.missing].sort((a, b) => a.slot - b.slot);
    try {
      p.asker.send({
        t: FLEET_MESSAGES.gathered,
        id: p.askerId,
        expected: this.options.expected,
        answers,
        missing,
        slots: this.options.slots(),
        primaryPid: this.options.primaryPid,
      } satisfies GatheredMessage);
    } catch {
      /* the asker is going away; it falls back to its own answer */
    }
  }
}

interface Slot {
  readonly slot: number;
  worker?: Worker;
  pid: number | null;
  state: SlotInfo['state'];
  startedAt: Date | null;
  readyAt?: number;
  restarts: number;
  /** consecutive early deaths */
  failures: number;
  lastExit: SlotInfo['lastExit'];
  timer?: NodeJS.Timeout;
}

/** A running fleet of workers (primary side). */
export interface RunningFleet {
  /** the primary's view of every slot */
  slots(): SlotInfo[];
  /** SIGTERM to every worker (each drains), SIGKILL to those still running after the grace; resolves when all exited */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const isMessage = (m: unknown, t: string): boolean =>
  typeof m === 'object' && m !== null && (m as { t?: unknown }).t === t;

/**
 * Forks `workers` processes running this same program (cluster), and resolves once every one said it is ready. A
 * worker exiting before the whole fleet was ready for the first time is a start failure (the port is taken, the
 * state folder unwritable, …): the others are stopped and the promise rejects, rather than restarting forever.
 */
export async function startWorkers(options: {
  workers: number;
  logger: Logger;
  /** the workers' own drain time (PROXY_SHUTDOWN_GRACE_MS); the primary waits this plus a margin before SIGKILL */
  shutdownGraceMs: number;
  gatherTimeoutMs?: number;
  backoff?: Backoff;
}): Promise<RunningFleet> {
  const { logger } = options;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const slots: Slot[] = Array.from({ length: options.workers }, (_, slot) => ({
    slot,
    pid: null,
    state: 'starting',
    startedAt: null,
    restarts: 0,
    failures: 0,
    lastExit: null,
  }));
  let stopping = false;
  let fleetReady = false;
  let startFailed: ((err: Error) => void) | undefined;
  let started: (() => void) | undefined;
  let allExited: (() => void) | undefined;

  const info = (): SlotInfo[] =>
    slots.map((s) => ({
      slot: s.slot,
      pid: s.pid,
      state: s.state,
      startedAt: s.startedAt?.toISOString() ?? null,
      restarts: s.restarts,
      lastExit: s.lastExit,
    }));
  const brokerWorker = (s: Slot, w: Worker): BrokerWorker => ({
    slot: s.slot,
    pid: w.process.pid ?? -1,
    send: (m) => void w.send(m as never, (err: Error | null) => void err),
    connected: () => w.isConnected(),
  });
  const broker = new GatherBroker({
    expected: options.workers,
    primaryPid: process.pid,
    timeoutMs: options.gatherTimeoutMs ?? GATHER_TIMEOUT_MS,
    slots: info,
    ready: () => slots.flatMap((s) => (s.state === 'ready' && s.worker ? [brokerWorker(s, s.worker)] : [])),
  });

  // structured clone over IPC, so that answers may carry Buffers, typed arrays or BigInt
  cluster.setupPrimary({ serialization: 'advanced' });

  const fork = (s: Slot): void => {
    s.timer = undefined;
    const w = cluster.fork({ [WORKER_SLOT_ENV]: String(s.slot) });
    s.worker = w;
    s.pid = w.process.pid ?? null;
    s.state = 'starting';
    s.startedAt = new Date();
    s.readyAt = undefined;
    w.on('message', (m: unknown) => {
      if (s.worker !== w) return;
      if (isMessage(m, FLEET_MESSAGES.ready)) onReady(s);
      else if (isMessage(m, FLEET_MESSAGES.gather)) broker.gather(brokerWorker(s, w), m as GatherMessage);
      else if (isMessage(m, FLEET_MESSAGES.reply))
        broker.reply({ slot: s.slot, pid: w.process.pid ?? -1 }, m as ReplyMessage);
    });
    w.on('exit', (code: number | null, signal: string | null) => onExit(s, w, code, signal));
  };

  const onReady = (s: Slot): void => {
    if (stopping) return;
    s.state = 'ready';
    s.readyAt = Date.now();
    if (s.restarts > 0) {
      logger.info(
        { event: FLEET_EVENTS.replaced, slot: s.slot, pid: s.pid, restarts: s.restarts },
        `worker ${s.slot} replaced (pid ${s.pid})`,
      );
    }
    if (!fleetReady && slots.every((x) => x.state === 'ready')) {
      fleetReady = true;
      started?.();
    }
  };

  const onExit = (s: Slot, w: Worker, code: number | null, signal: string | null): void => {
    const pid = w.process.pid ?? -1;
    broker.exited({ slot: s.slot, pid });
    if (s.worker !== w) return;
    s.worker = undefined;
    s.pid = null;
    s.lastExit = { at: new Date().toISOString(), code, signal };
    if (stopping) {
      if (slots.every((x) => x.worker === undefined)) allExited?.();
      return;
    }
    if (!fleetReady) {
      startFailed?.(
        new Error(
          `worker ${s.slot} (pid ${pid}) exited while the fleet was starting (code ${code}, signal ${signal}); see its log above`,
        ),
      );
      return;
    }
    const stable = s.readyAt !== undefined && Date.now() - s.readyAt >= backoff.stableMs;
    s.failures = stable ? 1 : s.failures + 1;
    const delayMs = restartDelayMs(s.failures, backoff);
    s.state = 'restarting';
    logger.warn(
      { event: FLEET_EVENTS.exited, slot: s.slot, pid, code, signal, failures: s.failures, restartInMs: delayMs },
      `worker ${s.slot} (pid ${pid}) exited unexpectedly (code ${code}, signal ${signal}); replacing it in ${delayMs} ms`,
    );
    s.timer = setTimeout(() => {
      if (stopping) return;
      s.restarts++;
      fork(s);
    }, delayMs);
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info(
      { event: FLEET_EVENTS.stopping, signal, workers: slots.filter((s) => s.worker).length },
      'stopping the workers (each drains its requests in flight)',
    );
    const exited = new Promise<void>((resolve) => {
      allExited = resolve;
    });
    for (const s of slots) {
      clearTimeout(s.timer);
      s.timer = undefined;
      if (s.worker) {
        s.state = 'stopping';
        // the signal itself, not worker.kill() (which first cuts the IPC channel): the worker drains as on its own
        s.worker.process.kill(signal);
      }
    }
    if (slots.some((s) => s.worker)) {
      let graceTimer: NodeJS.Timeout | undefined;
      const grace = new Promise<'grace'>((resolve) => {
        graceTimer = setTimeout(() => resolve('grace'), options.shutdownGraceMs + 5_000);
      });
      const outcome = await Promise.race([exited.then(() => 'exited' as const), grace]);
      clearTimeout(graceTimer);
      if (outcome === 'grace') {
        for (const s of slots) {
          if (!s.worker) continue;
          logger.warn(
            { event: FLEET_EVENTS.killed, slot: s.slot, pid: s.pid },
            `worker ${s.slot} (pid ${s.pid}) still running after the grace period: SIGKILL`,
          );
          s.worker.process.kill('SIGKILL');
        }
        await exited;
      }
    }
    broker.close();
    logger.info({ event: FLEET_EVENTS.stopped }, 'all workers stopped');
  };

  const ready = new Promise<void>((resolve, reject) => {
    started = resolve;
    startFailed = reject;
  });
  for (const s of slots) fork(s);
  try {
    await ready;
  } catch (err) {
    await stop('SIGTERM');
    throw err;
  }
  logger.info(
    { event: FLEET_EVENTS.started, workers: options.workers, pids: slots.map((s) => s.pid) },
    `${options.workers} proxy workers ready (pids ${slots.map((s) => s.pid).join(', ')})`,
  );
  return { slots: info, stop };
}
