import { EventEmitter } from 'node:events';
import { localLink, workerLink, type FleetLink, type PrimaryChannel, type SlotInfo } from './link';
import { DEFAULT_BACKOFF, GatherBroker, restartDelayMs, type BrokerWorker } from './workers';

/**
 * The gather protocol without processes: N worker links and a broker joined by in-memory channels that deliver
 * messages asynchronously (as IPC does). A worker can be made deaf (never answers) or disconnected.
 */
function fakeFleet(n: number, timeoutMs = 1_000) {
  const deaf = new Set<number>();
  const down = new Set<number>();
  const toWorker = Array.from({ length: n }, () => new EventEmitter());
  const slots = (): SlotInfo[] =>
    Array.from({ length: n }, (_, slot) => ({
      slot,
      pid: down.has(slot) ? null : 100 + slot,
      state: down.has(slot) ? 'restarting' : 'ready',
      startedAt: null,
      restarts: 0,
      lastExit: null,
    }));
  const brokerWorker = (slot: number): BrokerWorker => ({
    slot,
    pid: 100 + slot,
    send: (m) => setImmediate(() => toWorker[slot]!.emit('message', m)),
    connected: () => !down.has(slot),
  });
  const broker = new GatherBroker({
    expected: n,
    primaryPid: 1,
    timeoutMs,
    slots,
    ready: () => slots().flatMap((s) => (s.state === 'ready' ? [brokerWorker(s.slot)] : [])),
  });
  const links: FleetLink[] = toWorker.map((emitter, slot) => {
    const channel: PrimaryChannel = {
      send: (m) =>
        setImmediate(() => {
          const msg = m as { t: string };
          if (deaf.has(slot) && msg.t === 'strangler:fleet:reply') return;
          if (msg.t === 'strangler:fleet:gather') broker.gather(brokerWorker(slot), m as never);
          else if (msg.t === 'strangler:fleet:reply') broker.reply({ slot, pid: 100 + slot }, m as never);
        }),
      on: (e, l) => void emitter.on(e, l),
      off: (e, l) => void emitter.off(e, l),
      connected: () => !down.has(slot),
    };
    const link = workerLink({ self: { slot, pid: 100 + slot }, expected: n, channel, timeoutMs });
    link.answer('count', (params) => ({ slot, asked: params }));
    return link;
  });
  return { links, broker, deaf, down };
}

describe('gathering from every worker', () => {
  it('collects every worker’s answer, the asker’s first, with the primary’s slot table', async () => {
    const { links, broker } = fakeFleet(3);
    const g = await links[1]!.gather<{ slot: number; asked: unknown }>('count', { id: 'r' });
    expect(g.answers.map((a) => a.worker.slot)).toEqual([1, 0, 2]);
    expect(g.answers.map((a) => a.value)).toEqual([0, 1, 2].map(() => expect.objectContaining({ asked: { id: 'r' } })));
    expect(g.missing).toEqual([]);
    expect(g.expected).toBe(3);
    expect(g.primaryPid).toBe(1);
    expect(g.slots).toHaveLength(3);
    expect(broker.inFlight).toBe(0);
  });

  it('names a worker that does not answer in time, and one that is restarting', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] });
    try {
      const { links, deaf, down } = fakeFleet(4, 500);
      deaf.add(2);
      down.add(3);
      const pending = links[0]!.gather('count');
      // let every message that will be delivered arrive (the fake channels deliver on setImmediate), then time out
      for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
      await jest.advanceTimersByTimeAsync(500);
      const g = await pending;
      expect(g.answers.map((a) => a.worker.slot)).toEqual([0, 1]);
      expect(g.missing).toEqual([
        { slot: 2, pid: 102, reason: 'no answer within 500 ms' },
        { slot: 3, pid: null, reason: 'worker restarting' },
      ]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('lists a worker that exits during the gather as missing without waiting for the timeout', async () => {
    const { links, broker, deaf } = fakeFleet(3, 60_000);
    deaf.add(2);
    const pending = links[0]!.gather('count');
    await new Promise((resolve) => setImmediate(resolve));
    broker.exited({ slot: 2, pid: 102 });
    const g = await pending;
    expect(g.missing).toEqual([{ slot: 2, pid: 102, reason: 'exited before answering' }]);
    expect(g.answers).toHaveLength(2);
  });

  it('falls back to the asker’s own answer when there is no primary to relay', async () => {
    const { links, down } = fakeFleet(2);
    down.add(0); // the asker's channel is closed (its primary is gone)
    const g = await links[0]!.gather<{ slot: number }>('count');
    expect(g.answers).toEqual([{ worker: { slot: 0, pid: 100 }, value: { slot: 0, asked: undefined } }]);
    expect(g.missing).toEqual([{ slot: 1, pid: null, reason: 'the primary did not relay this worker’s answer' }]);
  });

  it('reports an unknown topic or a failing answer as missing, not as an error', async () => {
    const { links } = fakeFleet(2);
    links[1]!.answer('boom', () => {
      throw new Error('view broken');
    });
    links[0]!.answer('boom', () => 'fine');
    const g = await links[0]!.gather('boom');
    expect(g.answers).toEqual([{ worker: { slot: 0, pid: 100 }, value: 'fine' }]);
    expect(g.missing).toEqual([{ slot: 1, pid: 101, reason: 'view broken' }]);
    const unknown = await links[0]!.gather('nothing');
    expect(unknown.answers).toEqual([]);
    expect(unknown.missing.map((m) => m.reason)).toEqual([
      'no answer for topic "nothing"',
      'no answer for topic "nothing"',
    ]);
  });

  it('is the process’s own answer with one worker', async () => {
    const link = localLink(42);
    link.answer('x', () => 7);
    expect(await link.gather('x')).toEqual({
      expected: 1,
      answers: [{ worker: { slot: 0, pid: 42 }, value: 7 }],
      missing: [],
    });
  });
});

describe('restart backoff', () => {
  it('doubles per consecutive early death, up to the maximum', () => {
    expect([1, 2, 3, 4, 8, 20].map((n) => restartDelayMs(n))).toEqual([100, 200, 400, 800, 10_000, 10_000]);
    expect(restartDelayMs(1, { ...DEFAULT_BACKOFF, baseMs: 50 })).toBe(50);
  });
});
