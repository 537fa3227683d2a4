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

    const handleWithRetry = async (event: E, message: SourceMessage): Promise<Step> => {
      const headers = headerText(message.headers);
      const requestId = headers[MESSAGE_HEADERS.requestId];
      const log = logger.child({ topic, partition, offset: message.offset, ...(requestId ? { requestId } : {}) });
      for (let attempt = 1; ; attempt++) {
        try {
          await deps.handle(event, {
            topic,
            partition,
            offset: message.offset,
            requestId,
            headers,
            attempt,
            logger: log,
            signal,
            heartbeat,
          });
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

    try {
      for (const m of batch.messages) {
        if (!live()) break;
        const message: SourceMessage = {
          topic,
          partition,
          offset: m.offset,
          key: m.key,
          value: m.value,
          headers: m.headers,
        };
        if ((await processMessage(message)) === 'aborted') break;
        resolveOffset(m.offset);
        pending = (BigInt(m.offset) + 1n).toString();
        pendingCount++;
        if (pendingCount >= deps.commitPolicy.maxMessages || Date.now() - lastCommit >= deps.commitPolicy.maxMs)
          await commit();
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
