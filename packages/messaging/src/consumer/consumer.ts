import type { Logger } from '@warmhouse/shared';
import type { ConsumerConfig } from 'kafkajs';
import { kafkaClientOf, type KafkaOrBrokers } from '../kafka-client';
import { consumerLifecycle } from './lifecycle';
import { defaultDeadLetterTopic } from './dead-letter';
import type { ParsedMessage, SourceMessage } from './message';
import {
  createBatchProcessor,
  type BatchHandling,
  type CommitPolicy,
  type ConsumerStats,
  type HandlerContext,
  type UnitOfWork,
} from './process-batch';
import { isRetriableError } from './retriable';
import { DEFAULT_BACKOFF, type BackoffOptions } from './retry';

/** Options of {@link createMessageConsumer}. */
export interface MessageConsumerOptions<E> {
  /** a kafkajs client to share, or the brokers to create one for */
  kafka: KafkaOrBrokers;
  groupId: string;
  topics: string[];
  logger: Logger;
  /** reads a record; throw a MESSAGE_ERR_MALFORMED error (see parseMessage) to dead-letter it */
  parse: (message: SourceMessage) => ParsedMessage<E>;
  /**
   * Applies one message; resolve only once it is durably applied (its offset may be committed right after). It
   * must be idempotent (delivery is at least once): de-duplicate on the envelope's eventId or a stored position.
   * A retriable error is retried with backoff, never skipping the message; a non-retriable one dead-letters it.
   */
  handle: (event: E, ctx: HandlerContext) => Promise<void>;
  /** dead-letter topic for a source topic; default `<topic>.dlq` */
  deadLetterTopic?: string | ((topic: string) => string);
  /** start a new group at the earliest offset; default true */
  fromBeginning?: boolean;
  /** partitions handled at the same time (order within each partition is always kept); default 1 */
  partitionsConsumedConcurrently?: number;
  isRetriable?: (err: unknown) => boolean;
  isMalformed?: (err: unknown) => boolean;
  backoff?: Partial<BackoffOptions>;
  commitPolicy?: Partial<CommitPolicy>;
  /** extra kafkajs consumer settings (fetch sizes, session timeout…) */
  consumerConfig?: Omit<ConsumerConfig, 'groupId'>;
  /** name in log lines; default `message-consumer` */
  module?: string;
  /** called once a message is done: with the event when its handler resolved, without when skipped or dead-lettered */
  onDone?: (message: SourceMessage, event?: E) => void;
  /** applies consecutive messages of a partition in one unit (one database transaction, one commit) */
  unitOfWork?: UnitOfWork<E>;
  /** applies fetched messages set-based, falling back to `handle` one by one (see {@link BatchHandling}) */
  batch?: BatchHandling<E>;
}

/** A running consumer. */
export interface MessageConsumer {
  /** connects, joins the group and starts consuming; resolves once consumption has started */
  start(): Promise<void>;
  /** finishes the message in flight, commits what was handled, leaves the group and disconnects; idempotent */
  stop(): Promise<void>;
  /** a copy of the counters */
  stats(): ConsumerStats;
  /** started and not stopping */
  running(): boolean;
}

/**
 * A kafkajs consumer with the consumer error policy (see createBatchProcessor): partitions in order, offsets
 * committed only after the handler resolved, retriable failures retried with jittered backoff, malformed messages
 * and non-retriable failures dead-lettered to `<topic>.dlq` (original bytes, reason and origin in headers).
 */
export function createMessageConsumer<E>(options: MessageConsumerOptions<E>): MessageConsumer {
  const logger = options.logger.child({ module: options.module ?? 'message-consumer', groupId: options.groupId });
  const kafka = kafkaClientOf(options.kafka, { clientId: options.groupId, logger });
  const consumer = kafka.consumer({ ...options.consumerConfig, groupId: options.groupId });
  // dead-letter topics may not exist yet: the first dead letter creates it with the broker's defaults
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: true });
  const stopping = new AbortController();
  const stats: ConsumerStats = { handled: 0, tombstones: 0, skipped: 0, deadLettered: 0, retries: 0, commits: 0 };
  const dlq = options.deadLetterTopic;

  const eachBatch = createBatchProcessor<E>({
    groupId: options.groupId,
    parse: options.parse,
    handle: options.handle,
    deadLetter: async (topic, message) => {
      await producer.send({ topic, acks: -1, messages: [message] });
    },
    deadLetterTopic: typeof dlq === 'function' ? dlq : dlq ? () => dlq : defaultDeadLetterTopic,
    isRetriable: options.isRetriable ?? isRetriableError,
    ...(options.isMalformed ? { isMalformed: options.isMalformed } : {}),
    ...(options.onDone ? { onDone: options.onDone } : {}),
    ...(options.unitOfWork ? { unitOfWork: options.unitOfWork } : {}),
    ...(options.batch ? { batch: options.batch } : {}),
    backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
    commitPolicy: { maxMessages: 100, maxMs: 1_000, ...options.commitPolicy },
    logger,
    stats,
    signal: stopping.signal,
  });

  consumer.on(consumer.events.CRASH, ({ payload }) =>
    logger.error(
      { event: 'consumer_crashed', err: payload.error, restart: payload.restart },
      'kafkajs consumer crashed',
    ),
  );

  const lifecycle = consumerLifecycle({
    consumer,
    subscription: { topics: options.topics, fromBeginning: options.fromBeginning ?? true },
    run: {
      autoCommit: false,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
      eachBatch,
    },
    logger,
    name: 'consumer',
    startedFields: { topics: options.topics },
    stoppedFields: () => ({ stats }),
    onStopping: () => stopping.abort(),
    beside: producer,
  });
  return { ...lifecycle, stats: () => ({ ...stats }) };
}
