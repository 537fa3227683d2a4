import { CodedError, createLogger } from '@warmhouse/shared';
import type { EachBatchPayload, Message } from 'kafkajs';
import { monolithTables, parseChangeEvent, type ChangeEventOf, type SourceMessage } from '../events';
import { fixtureMessage, tombstoneMessage, type FixtureName } from '../events/fixtures/messages';
import {
  createBatchProcessor,
  DLQ_HEADERS,
  isRetriableError,
  type ConsumerStats,
  type HandlerContext,
  type ParsedMessage,
  type BatchHandling,
  type UnitOfWork,
} from '@warmhouse/messaging';

type Event = ChangeEventOf<typeof monolithTables>;
const TOPIC = 'monolith.public.heating_systems';
const logger = createLogger('test', 'silent');

function messages(...items: Array<FixtureName | 'tombstone' | SourceMessage>): SourceMessage[] {
  return items.map((item, i) => {
    const at = { offset: String(100 + i), topic: TOPIC };
    if (item === 'tombstone') return tombstoneMessage(42, at);
    return typeof item === 'string' ? fixtureMessage(item, at) : { ...item, ...at };
  });
}

function harness(
  options: {
    handle?: (e: Event, ctx: HandlerContext) => Promise<void>;
    deadLetter?: (topic: string, m: Message) => Promise<void>;
    maxMessages?: number;
    parse?: (m: SourceMessage) => ParsedMessage<Event>;
    unitOfWork?: UnitOfWork<Event>;
    batch?: BatchHandling<Event>;
  } = {},
) {
  const timeline: string[] = [];
  const dlq: Array<{ topic: string; message: Message }> = [];
  const contexts: HandlerContext[] = [];
  const stats: ConsumerStats = { handled: 0, tombstones: 0, skipped: 0, deadLettered: 0, retries: 0, commits: 0 };
  const stop = new AbortController();
  const processor = createBatchProcessor<Event>({
    groupId: 'test-group',
    parse: options.parse ?? ((m) => parseChangeEvent(m, monolithTables)),
    handle: async (event, ctx) => {
      contexts.push(ctx);
      timeline.push(`handle ${ctx.offset} ${event.op}`);
      await options.handle?.(event, ctx);
    },
    deadLetter: async (topic, message) => {
      await options.deadLetter?.(topic, message);
      dlq.push({ topic, message });
      timeline.push(`dlq ${String(message.headers?.[DLQ_HEADERS.offset])}`);
    },
    deadLetterTopic: (t) => `${t}.dlq`,
    isRetriable: isRetriableError,
    backoff: { initialMs: 1, maxMs: 5, factor: 2 },
    commitPolicy: { maxMessages: options.maxMessages ?? 1_000, maxMs: 60_000 },
    logger,
    stats,
    signal: stop.signal,
    heartbeatEveryMs: 2,
    ...(options.unitOfWork ? { unitOfWork: options.unitOfWork } : {}),
    ...(options.batch ? { batch: options.batch } : {}),
  });
  const run = (batch: SourceMessage[]) =>
    processor({
      batch: {
        topic: TOPIC,
        partition: 0,
        messages: batch.map((m) => ({ ...m, timestamp: '0', attributes: 0, size: 0 })),
      },
      resolveOffset: (offset: string) => timeline.push(`resolve ${offset}`),
      heartbeat: async () => undefined,
      commitOffsetsIfNecessary: async (offsets?: { topics: Array<{ partitions: Array<{ offset: string }> }> }) => {
        timeline.push(`commit ${offsets?.topics[0]?.partitions[0]?.offset}`);
      },
      isRunning: () => true,
      isStale: () => false,
    } as unknown as EachBatchPayload);
  return { run, timeline, dlq, contexts, stats, stop };
}

describe('change-event batch processing', () => {
  it('handles in order, skips tombstones, and commits only after the handlers resolved', async () => {
    const h = harness();
    await h.run(messages('snapshot-read-heating', 'create-heating', 'update-heating', 'delete-heating', 'tombstone'));
    expect(h.timeline).toEqual([
      'handle 100 r',
      'resolve 100',
      'handle 101 c',
      'resolve 101',
      'handle 102 u',
      'resolve 102',
      'handle 103 d',
      'resolve 103',
      'resolve 104',
      'commit 105',
    ]);
    expect(h.stats).toEqual({ handled: 4, tombstones: 1, skipped: 0, deadLettered: 0, retries: 0, commits: 1 });
  });

  it('skips what the parser has no use for (a newer message type): not handled, not dead-lettered, committed', async () => {
    const h = harness({
      parse: (m) =>
        m.offset === '101' ? { kind: 'skip', reason: 'type x is not known here' } : parseChangeEvent(m, monolithTables),
    });
    await h.run(messages('create-heating', 'update-heating', 'delete-heating'));
    expect(h.timeline).toEqual([
      'handle 100 c',
      'resolve 100',
      'resolve 101',
      'handle 102 d',
      'resolve 102',
      'commit 103',
    ]);
    expect(h.stats).toMatchObject({ handled: 2, skipped: 1, deadLettered: 0 });
  });

  it('commits every maxMessages within a long batch, never ahead of the work', async () => {
    const h = harness({ maxMessages: 2 });
    await h.run(messages('create-heating', 'update-heating', 'update-heating', 'update-heating', 'delete-heating'));
    expect(h.timeline.filter((t) => t.startsWith('commit'))).toEqual(['commit 102', 'commit 104', 'commit 105']);
    expect(h.timeline.indexOf('commit 102')).toBeGreaterThan(h.timeline.indexOf('handle 101 u'));
  });

  it('dead-letters a malformed message with reason and origin, counts it, commits it and goes on', async () => {
    const h = harness();
    await h.run(messages('malformed-bad-row', 'update-heating'));
    expect(h.timeline).toEqual(['dlq 100', 'resolve 100', 'handle 101 u', 'resolve 101', 'commit 102']);
    expect(h.stats.deadLettered).toBe(1);
    const [{ topic, message }] = h.dlq as [{ topic: string; message: Message }];
    expect(topic).toBe(`${TOPIC}.dlq`);
    expect(message.value?.toString()).toBe(fixtureMessage('malformed-bad-row').value?.toString());
    expect(message.key?.toString()).toBe('{"id":45}');
    expect(message.headers).toMatchObject({
      [DLQ_HEADERS.reason]: 'malformed',
      [DLQ_HEADERS.errorCode]: 'CDC_ERR_EVENT_MALFORMED',
      [DLQ_HEADERS.topic]: TOPIC,
      [DLQ_HEADERS.partition]: '0',
      [DLQ_HEADERS.offset]: '100',
      [DLQ_HEADERS.group]: 'test-group',
    });
    expect(String(message.headers?.[DLQ_HEADERS.error])).toMatch(/^after\.is_on: .*after\.target_temperature: /);
  });

  it('retries a retriable handler failure with backoff, never skipping, and commits after it succeeds', async () => {
    let failures = 2;
    const h = harness({
      handle: async () => {
        if (failures-- > 0) throw new CodedError('DB_DOWN', 'connection refused', { retriable: true });
      },
    });
    await h.run(messages('update-heating', 'delete-heating'));
    expect(h.timeline).toEqual([
      'handle 100 u',
      'handle 100 u',
      'handle 100 u',
      'resolve 100',
      'handle 101 d',
      'resolve 101',
      'commit 102',
    ]);
    expect(h.contexts.map((c) => c.attempt)).toEqual([1, 2, 3, 1]);
    expect(h.stats).toMatchObject({ handled: 2, retries: 2, deadLettered: 0 });
  });

  it('dead-letters a handler failure that is not retriable', async () => {
    const h = harness({
      handle: async (e) => {
        if (e.op === 'u') throw new CodedError('PROJECTION_CONSTRAINT', 'target out of range', { retriable: false });
      },
    });
    await h.run(messages('update-heating', 'delete-heating'));
    expect(h.timeline).toEqual(['handle 100 u', 'dlq 100', 'resolve 100', 'handle 101 d', 'resolve 101', 'commit 102']);
    expect(h.dlq[0]?.message.headers).toMatchObject({
      [DLQ_HEADERS.reason]: 'handler_rejected',
      [DLQ_HEADERS.error]: 'target out of range',
      [DLQ_HEADERS.errorCode]: 'PROJECTION_CONSTRAINT',
    });
  });

  it('keeps retrying a failed dead-letter write and commits only once it landed', async () => {
    let failures = 2;
    const h = harness({
      deadLetter: async () => {
        if (failures-- > 0) throw new Error('broker not available');
      },
    });
    await h.run(messages('malformed-missing-lsn'));
    expect(h.timeline).toEqual(['dlq 100', 'resolve 100', 'commit 101']);
  });

  it('on stop, abandons the retry of the failing message but commits the ones handled before it', async () => {
    const h = harness({
      handle: async (e) => {
        if (e.op === 'u') {
          h.stop.abort();
          throw new Error('database restarting');
        }
      },
    });
    await h.run(messages('create-heating', 'update-heating', 'delete-heating'));
    expect(h.timeline).toEqual(['handle 100 c', 'resolve 100', 'handle 101 u', 'commit 101']);
  });

  it('passes x-request-id and headers to the handler context', async () => {
    const h = harness();
    const [m] = messages('update-heating');
    await h.run([{ ...m!, headers: { 'X-Request-Id': Buffer.from('req-123'), other: 'v' } }]);
    expect(h.contexts[0]).toMatchObject({
      requestId: 'req-123',
      headers: { 'x-request-id': 'req-123', other: 'v' },
      topic: TOPIC,
      partition: 0,
      offset: '100',
    });
  });

  it('leaves requestId undefined when the header is absent', async () => {
    const h = harness();
    await h.run(messages('heartbeat-update'));
    expect(h.contexts[0]?.requestId).toBeUndefined();
  });
});

describe('isRetriableError', () => {
  it.each<[string, boolean, unknown]>([
    ['an explicitly retriable coded error', true, new CodedError('X', 'x', { retriable: true })],
    ['a coded error without retriable', false, new CodedError('X', 'x')],
    ['a kafkajs-style error', false, Object.assign(new Error('x'), { retriable: false })],
    ['a socket error', true, Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['a TypeError (programmer error)', false, new TypeError('x is undefined')],
    ['a ReferenceError', false, new ReferenceError('y')],
    ['a thrown string', true, 'oops'],
  ])('%s → retriable: %s', (_name, expected, err) => {
    expect(isRetriableError(err)).toBe(expected);
  });
});

describe('units of work: many changes, one transaction', () => {
  /** A unit of work that writes what happens into the harness's timeline. */
  function units(timeline: () => string[], maxMessages = 10): UnitOfWork<Event> {
    let n = 0;
    return {
      maxMessages,
      maxMs: 60_000,
      begin: async () => {
        timeline().push(`begin ${++n}`);
        return n;
      },
      commit: async (unit, items) => {
        timeline().push(`commit unit ${String(unit)}: ${items.map((i) => i.message.offset).join(',')}`);
      },
      rollback: async (unit) => {
        timeline().push(`rollback unit ${String(unit)}`);
      },
    };
  }

  it('applies consecutive messages in one unit, committed before any of their offsets is resolved', async () => {
    const h: ReturnType<typeof harness> = harness({ unitOfWork: units(() => h.timeline, 3) });
    await h.run(messages('create-heating', 'update-heating', 'tombstone', 'update-heating', 'delete-heating'));
    expect(h.timeline).toEqual([
      'begin 1',
      'handle 100 c',
      'handle 101 u',
      'commit unit 1: 100,101,102',
      'resolve 100',
      'resolve 101',
      'resolve 102',
      'begin 2',
      'handle 103 u',
      'handle 104 d',
      'commit unit 2: 103,104',
      'resolve 103',
      'resolve 104',
      'commit 105',
    ]);
    expect(h.contexts.map((c) => c.unit)).toEqual([1, 1, 2, 2]);
    expect(h.stats).toMatchObject({ handled: 4, tombstones: 1, deadLettered: 0 });
  });

  it('rolls a failing unit back and does its messages one unit each: retries and dead letters stay per message', async () => {
    let failures = 0;
    const h: ReturnType<typeof harness> = harness({
      unitOfWork: units(() => h.timeline),
      handle: async (_e, ctx) => {
        if (ctx.offset === '101') throw new CodedError('DEVICE_ERR_RULE', 'refused', { retriable: false });
        if (ctx.offset === '102' && failures++ === 0) throw new CodedError('PG_BUSY', 'busy', { retriable: true });
      },
    });
    await h.run(messages('create-heating', 'update-heating', 'update-heating'));
    expect(h.timeline).toEqual([
      'begin 1',
      'handle 100 c',
      'handle 101 u',
      'rollback unit 1',
      'begin 2',
      'handle 100 c',
      'commit unit 2: 100',
      'resolve 100',
      'begin 3',
      'handle 101 u',
      'rollback unit 3',
      'dlq 101',
      'resolve 101',
      'begin 4',
      'handle 102 u',
      'rollback unit 4',
      'begin 5',
      'handle 102 u',
      'commit unit 5: 102',
      'resolve 102',
      'commit 103',
    ]);
    expect(h.stats).toMatchObject({ handled: 2, deadLettered: 1, retries: 1 });
  });
});

describe('set-based batches: a fetched batch applied at once', () => {
  /** A batch handler that writes what it gets into the harness's timeline, failing when `fails` says so. */
  function batches(timeline: () => string[], maxMessages = 10, fails = (_offsets: string[]) => false) {
    return {
      maxMessages,
      handleAll: async (items) => {
        const offsets = items.map((i) => i.message.offset);
        timeline().push(`batch ${offsets.join(',')}`);
        if (fails(offsets)) throw new CodedError('DEVICE_ERR_SYNC_CONFLICT', 'lost a race', { retriable: true });
      },
    } satisfies BatchHandling<Event>;
  }

  it('hands each chunk over at once (tombstones left out) and resolves offsets only after it resolved', async () => {
    const h: ReturnType<typeof harness> = harness({ batch: batches(() => h.timeline, 3) });
    await h.run(messages('create-heating', 'tombstone', 'update-heating', 'update-heating', 'delete-heating'));
    expect(h.timeline).toEqual([
      'batch 100,102',
      'resolve 100',
      'resolve 101',
      'resolve 102',
      'batch 103,104',
      'resolve 103',
      'resolve 104',
      'commit 105',
    ]);
    expect(h.stats).toMatchObject({ handled: 4, tombstones: 1, deadLettered: 0 });
  });

  it('a failed batch is done again one message at a time: the rejected one dead-lettered alone', async () => {
    const h: ReturnType<typeof harness> = harness({
      batch: batches(
        () => h.timeline,
        10,
        () => true,
      ),
      handle: async (_e, ctx) => {
        if (ctx.offset === '101') throw new CodedError('DEVICE_ERR_RULE', 'refused', { retriable: false });
      },
    });
    await h.run(messages('create-heating', 'update-heating', 'update-heating'));
    expect(h.timeline).toEqual([
      'batch 100,101,102',
      'handle 100 c',
      'resolve 100',
      'handle 101 u',
      'dlq 101',
      'resolve 101',
      'handle 102 u',
      'resolve 102',
      'commit 103',
    ]);
    expect(h.stats).toMatchObject({ handled: 2, deadLettered: 1 });
  });

  it('a chunk with a message that does not parse goes one by one; the next chunk is a batch again', async () => {
    const h: ReturnType<typeof harness> = harness({ batch: batches(() => h.timeline, 2) });
    await h.run(messages('update-heating', 'malformed-bad-row', 'update-heating', 'delete-heating'));
    expect(h.timeline).toEqual([
      'handle 100 u',
      'resolve 100',
      'dlq 101',
      'resolve 101',
      'batch 102,103',
      'resolve 102',
      'resolve 103',
      'commit 104',
    ]);
    expect(h.stats).toMatchObject({ handled: 3, deadLettered: 1 });
  });
});
