import type { Logger } from '@warmhouse/shared';
import type { EachBatchPayload, Message } from 'kafkajs';
import { headerText, MESSAGE_HEADERS } from '../headers';
import { deadLetterMessage, type DeadLetterReason } from './dead-letter';
import { isMalformedError, type ParsedMessage, type SourceMessage } from './message';
import { backoffDelay, sleep, type BackoffOptions } from './retry';

/** What a handler learns about the message besides the event. */
export interface HandlerContext {
  topic: string;
  partition: number;
  offset: string;
  /** the `x-request-id` Kafka header, when the producer set one */
  requestId: string | undefined;
  /** all Kafka headers, as UTF-8 text */
  headers: Readonly<Record<string, string>>;
  /** 1 on the first try, then 2, 3… while a retriable failure is retried */
  attempt: number;
  /** child logger carrying topic, partition, offset and request id */
  logger: Logger;
  /** aborted when the consumer stops; a long handler may give up early (the message is then redelivered) */
  signal: AbortSignal;
  /** keeps the group membership alive during a long handler */
  heartbeat(): Promise<void>;
  /** the unit of work the message is applied in, with a {@link UnitOfWork} (e.g. its database transaction) */
  unit?: unknown;
}

/** A message done in a unit: with its event when its handler resolved, without when skipped. */
export interface UnitItem<E> {
  message: SourceMessage;
  event?: E;
}

/**
 * Applies consecutive messages of a partition in one unit (e.g. one database transaction) instead of one each: one
 * commit for many changes. A unit is committed before any of its offsets is resolved, so nothing is acknowledged
 * before it is durable. When anything in a unit fails it is rolled back and its messages are done again one unit
 * each, so retries and dead letters stay per message.
 */
export interface UnitOfWork<E> {
  /** most messages in one unit */
  maxMessages: number;
  /** a unit open this long takes no more messages (the first one's latency), ms */
  maxMs: number;
  begin(): Promise<unknown>;
  /** makes the unit durable; `items` are the messages done in it, in order */
  commit(unit: unknown, items: ReadonlyArray<UnitItem<E>>): Promise<void>;
  rollback(unit: unknown): Promise<void>;
}

/** A parsed message handed to a {@link BatchHandling} handler. */
export interface BatchItem<E> {
  event: E;
  message: SourceMessage;
}

/** What a batch handler learns besides the items (all of one topic partition). */
export interface BatchContext {
  topic: string;
  partition: number;
  logger: Logger;
  signal: AbortSignal;
  heartbeat(): Promise<void>;
}

/**
 * Applies the messages of a fetched batch set-based, all at once, instead of one handler call each (e.g. one
 * database transaction of a few multi-row statements). It must be all or nothing: when it fails, the messages are
 * done again one by one through `handle`, so retries and dead letters stay per message (one malformed or rejected
 * message is dead-lettered alone and the rest go through). A chunk with a message that does not parse goes one by
 * one straight away.
 */
export interface BatchHandling<E> {
  /** most messages handed over at once */
  maxMessages: number;
  /** resolves once every item is durably applied; items are in offset order */
  handleAll(items: ReadonlyArray<BatchItem<E>>, ctx: BatchContext): Promise<void>;
}

/** Counters of a running consumer. */
export interface ConsumerStats {
  /** events whose handler resolved */
  handled: number;
  tombstones: number;
  /** messages the parser skipped (types this consumer does not know) */
  skipped: number;
  deadLettered: number;
  /** handler attempts that failed with a retriable error */
  retries: number;
  commits: number;
}

/** When to commit within a long batch; a batch's end and stopping always commit. */
export interface CommitPolicy {
  maxMessages: number;
  maxMs: number;
}

/** Everything {@link createBatchProcessor} needs; kafkajs stays outside (an adapter supplies `deadLetter`). */
export interface BatchProcessorDeps<E> {
  groupId: string;
  parse: (message: SourceMessage) => ParsedMessage<E>;
  handle: (event: E, ctx: HandlerContext) => Promise<void>;
  deadLetter: (topic: string, message: Message) => Promise<void>;
  deadLetterTopic: (topic: string) => string;
  isRetriable: (err: unknown) => boolean;
  backoff: BackoffOptions;
  commitPolicy: CommitPolicy;
  logger: Logger;
  stats: ConsumerStats;
  signal: AbortSignal;
  /** whether a parse failure means "dead-letter it" (anything else is a bug and crashes the batch); default {@link isMalformedError} */
  isMalformed?: (err: unknown) => boolean;
  /** longest sleep between heartbeats while waiting to retry, ms */
  heartbeatEveryMs?: number;
  /** called once a message is done: with the event when its handler resolved, without when skipped or dead-lettered */
  onDone?: (message: SourceMessage, event?: E) => void;
  /** groups messages into units of work (see {@link UnitOfWork}); without it each handler call stands alone */
  unitOfWork?: UnitOfWork<E>;
  /** applies fetched messages set-based (see {@link BatchHandling}); wins over `unitOfWork` */
  batch?: BatchHandling<E>;
}

type Step = 'done' | 'aborted';

/**
 * The `eachBatch` of every consumer here (the consumer error policy): parse, then handle with retries and jittered
 * backoff for retriable failures, dead-letter malformed messages and non-retriable failures to `<topic>.dlq` with
 * the reason in headers, commit only what is done. Messages of a partition are handled strictly in order; an offset is
 * committed only once every message before it is handled, skipped (tombstone) or dead-lettered. Commits are
 * grouped (`commitPolicy`, batch end, stop), which never commits ahead of the work done.
 */
export function createBatchProcessor<E>(deps: BatchProcessorDeps<E>): (payload: EachBatchPayload) => Promise<void> {
  const { logger, stats, signal } = deps;
  const heartbeatEveryMs = deps.heartbeatEveryMs ?? 3_000;

  return async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
    const { topic, partition } = batch;
    const live = () => !signal.aborted && isRunning() && !isStale();
    let pending: string | undefined;
    let pendingCount = 0;
    let lastCommit = Date.now();

    const commit = async () => {
      if (pending === undefined) return;
      const offset = pending;
      await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset }] }] });
      stats.commits++;
      logger.debug({ event: 'cdc_offsets_committed', topic, partition, offset }, 'offset committed');
      pending = undefined;
      pendingCount = 0;
      lastCommit = Date.now();
    };

    const waitBeforeRetry = async (ms: number): Promise<boolean> => {
      const until = Date.now() + ms;
      while (live() && Date.now() < until) {
        await sleep(Math.min(heartbeatEveryMs, until - Date.now()), signal);
        if (live()) await heartbeat();
      }
      return live();
    };

    /** Retries until the DLQ write succeeds or the consumer stops: committing past an unrecorded failure would lose it. */
    const sendToDeadLetter = async (
      message: SourceMessage,
      reason: DeadLetterReason,
      error: unknown,
    ): Promise<Step> => {
      const dlqTopic = deps.deadLetterTopic(topic);
      const record = deadLetterMessage(message, reason, error, deps.groupId);
      for (let attempt = 1; ; attempt++) {
        try {
          await deps.deadLetter(dlqTopic, record);
          stats.deadLettered++;
          deps.onDone?.(message);
          logger.error(
            {
              event: 'cdc_event_dead_lettered',
              topic,
              partition,
              offset: message.offset,
              dlqTopic,
              reason,
              err: error,
            },
            `message dead-lettered to ${dlqTopic}`,
          );
          return 'done';
        } catch (err) {
          const wait = backoffDelay(attempt, deps.backoff);
          logger.warn(
            { event: 'cdc_dead_letter_failed', topic, partition, offset: message.offset, dlqTopic, err, waitMs: wait },
            'dead-letter write failed, retrying',
          );
          if (!(await waitBeforeRetry(wait))) return 'aborted';
        }
      }
    };

    const contextOf = (message: SourceMessage, attempt: number, unit?: unknown): HandlerContext => {
      const headers = headerText(message.headers);
      const requestId = headers[MESSAGE_HEADERS.requestId];
      const log = logger.child({ topic, partition, offset: message.offset, ...(requestId ? { requestId } : {}) });
      return {
        topic,
        partition,
        offset: message.offset,
        requestId,
        headers,
        attempt,
        logger: log,
        signal,
        heartbeat,
        ...(unit === undefined ? {} : { unit }),
      };
    };

    /** One message in a unit of its own (when units are used): committed before it counts as done. */
    const handleAlone = async (event: E, message: SourceMessage, attempt: number): Promise<void> => {
      const uow = deps.unitOfWork;
      if (uow === undefined) return deps.handle(event, contextOf(message, attempt));
      const unit = await uow.begin();
      try {
        await deps.handle(event, contextOf(message, attempt, unit));
        await uow.commit(unit, [{ message, event }]);
      } catch (err) {
        await uow.rollback(unit).catch(() => undefined);
        throw err;
      }
    };

    const handleWithRetry = async (event: E, message: SourceMessage): Promise<Step> => {
      const log = contextOf(message, 1).logger;
      for (let attempt = 1; ; attempt++) {
        try {
          await handleAlone(event, message, attempt);
          stats.handled++;
          deps.onDone?.(message, event);
          return 'done';
        } catch (err) {
          if (!deps.isRetriable(err)) return sendToDeadLetter(message, 'handler_rejected', err);
          stats.retries++;
          const wait = backoffDelay(attempt, deps.backoff);
          log.warn({ event: 'cdc_handler_retry', err, attempt, waitMs: wait }, 'handler failed, retrying');
          if (!(await waitBeforeRetry(wait))) return 'aborted';
        }
      }
    };

    const processMessage = async (message: SourceMessage): Promise<Step> => {
      let parsed: ParsedMessage<E>;
      try {
        parsed = deps.parse(message);
      } catch (err) {
        if (!(deps.isMalformed ?? isMalformedError)(err)) throw err;
        return sendToDeadLetter(message, 'malformed', err);
      }
      if (parsed.kind === 'tombstone') {
        stats.tombstones++;
        deps.onDone?.(message);
        return 'done';
      }
      if (parsed.kind === 'skip') {
        stats.skipped++;
        logger.debug({ event: 'message_skipped', topic: message.topic, offset: message.offset, reason: parsed.reason });
        deps.onDone?.(message);
        return 'done';
      }
      return handleWithRetry(parsed.event, message);
    };

    /**
     * Does messages from `from` on in one unit, up to the unit's limits; returns how many it did, or 0 when the
     * unit failed (rolled back: those messages are then done one by one).
     */
    const processUnit = async (uow: UnitOfWork<E>, messages: SourceMessage[], from: number): Promise<number> => {
      const unit = await uow.begin();
      const items: Array<UnitItem<E>> = [];
      const tombstones = new Set<SourceMessage>();
      const started = Date.now();
      try {
        for (let i = from; i < messages.length && items.length < uow.maxMessages && live(); i++) {
          if (items.length > 0 && Date.now() - started >= uow.maxMs) break;
          const message = messages[i]!;
          const parsed = deps.parse(message);
          if (parsed.kind === 'change' || parsed.kind === 'message') {
            await deps.handle(parsed.event, contextOf(message, 1, unit));
            items.push({ message, event: parsed.event });
          } else {
            if (parsed.kind === 'tombstone') tombstones.add(message);
            items.push({ message });
          }
        }
        await uow.commit(unit, items);
      } catch (err) {
        await uow.rollback(unit).catch(() => undefined);
        logger.debug(
          { event: 'unit_of_work_failed', topic, partition, err },
          'unit rolled back; one message at a time',
        );
        return 0;
      }
      finish(items, tombstones);
      return items.length;
    };

    /** Counts and reports the messages of a committed unit or batch. */
    const finish = (items: ReadonlyArray<UnitItem<E>>, tombstones: ReadonlySet<SourceMessage>) => {
      for (const { message, event } of items) {
        if (event === undefined) {
          if (tombstones.has(message)) stats.tombstones++;
          else stats.skipped++;
          deps.onDone?.(message);
        } else {
          stats.handled++;
          deps.onDone?.(message, event);
        }
      }
    };

    /**
     * Does messages from `from` on set-based (see {@link BatchHandling}); returns how many it did, or 0 when one
     * did not parse or the batch handler failed (those messages are then done one by one).
     */
    const processBatch = async (handling: BatchHandling<E>, messages: SourceMessage[], from: number) => {
      const chunk = messages.slice(from, from + handling.maxMessages);
      const items: Array<UnitItem<E>> = [];
      const tombstones = new Set<SourceMessage>();
      try {
        for (const message of chunk) {
          const parsed = deps.parse(message);
          if (parsed.kind === 'change' || parsed.kind === 'message') items.push({ message, event: parsed.event });
          else {
            if (parsed.kind === 'tombstone') tombstones.add(message);
            items.push({ message });
          }
        }
        const events = items.filter((i): i is BatchItem<E> => i.event !== undefined);
        if (events.length > 0) await handling.handleAll(events, { topic, partition, logger, signal, heartbeat });
      } catch (err) {
        logger.warn(
          { event: 'batch_apply_failed', topic, partition, from: chunk[0]?.offset, size: chunk.length, err },
          'batch not applied; one message at a time',
        );
        return 0;
      }
      finish(items, tombstones);
      return items.length;
    };

    /** Resolves the offsets of messages done, in order; commits once for all of them when the policy says so. */
    const markDone = async (...done: SourceMessage[]) => {
      for (const m of done) resolveOffset(m.offset);
      const last = done[done.length - 1];
      if (last === undefined) return;
      pending = (BigInt(last.offset) + 1n).toString();
      pendingCount += done.length;
      if (pendingCount >= deps.commitPolicy.maxMessages || Date.now() - lastCommit >= deps.commitPolicy.maxMs)
        await commit();
    };

    const messages: SourceMessage[] = batch.messages.map((m) => ({
      topic,
      partition,
      offset: m.offset,
      key: m.key,
      value: m.value,
      headers: m.headers,
      timestamp: m.timestamp,
    }));
    try {
      const { batch: handling, unitOfWork: uow } = deps;
      const group = handling
        ? { max: handling.maxMessages, run: (from: number) => processBatch(handling, messages, from) }
        : uow && { max: uow.maxMessages, run: (from: number) => processUnit(uow, messages, from) };
      let failedUntil = 0; // messages of a failed unit or batch are done one by one
      for (let i = 0; i < messages.length && live();) {
        if (group && i >= failedUntil && (handling !== undefined || messages.length - i > 1)) {
          const done = await group.run(i);
          if (done === 0) {
            failedUntil = i + Math.min(group.max, messages.length - i);
            continue;
          }
          await markDone(...messages.slice(i, i + done));
          i += done;
          continue;
        }
        const message = messages[i]!;
        if ((await processMessage(message)) === 'aborted') break;
        await markDone(message);
        i++;
      }
      await commit();
    } catch (err) {
      await commit().catch((commitErr: unknown) =>
        logger.warn(
          { event: 'cdc_commit_failed', topic, partition, err: commitErr },
          'could not commit before giving the batch back',
        ),
      );
      throw err;
    }
  };
}
