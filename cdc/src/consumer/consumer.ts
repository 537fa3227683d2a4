import type { Logger } from '@warmhouse/shared';
import {
  createMessageConsumer,
  type BackoffOptions,
  type CommitPolicy,
  type ConsumerStats,
  type HandlerContext,
} from '@warmhouse/messaging';
import type { ConsumerConfig, Kafka } from 'kafkajs';
import { parseChangeEvent, type ChangeEvent, type ChangeEventOf, type TableSpecs } from '../events';

/** Options of {@link createChangeEventConsumer}. */
export interface ChangeEventConsumerOptions<E> {
  /** a kafkajs client to share, or the brokers to create one for */
  kafka: Kafka | { brokers: string[]; clientId?: string };
  groupId: string;
  topics: string[];
  logger: Logger;
  /**
   * Applies one change; resolve only once it is durably applied (its offset may be committed right after).
   * Throw a retriable error (or any error without `retriable: false` that is not a programmer error) to have
   * it retried with backoff; a non-retriable error dead-letters the message.
   */
  handle: (event: E, ctx: HandlerContext) => Promise<void>;
  /** dead-letter topic for a source topic; default `<topic>.dlq` */
  deadLetterTopic?: string | ((topic: string) => string);
  /** start a new group at the earliest offset (to see the snapshot); default true */
  fromBeginning?: boolean;
  /** partitions handled at the same time (order within each partition is always kept); default 1 */
  partitionsConsumedConcurrently?: number;
  isRetriable?: (err: unknown) => boolean;
  backoff?: Partial<BackoffOptions>;
  commitPolicy?: Partial<CommitPolicy>;
  /** extra kafkajs consumer settings (fetch sizes, session timeout…) */
  consumerConfig?: Omit<ConsumerConfig, 'groupId'>;
}

/** A running change-event consumer. */
export interface ChangeEventConsumer {
  /** connects, joins the group and starts consuming; resolves once consumption has started */
  start(): Promise<void>;
  /** finishes the message in flight, commits what was handled, leaves the group and disconnects; idempotent */
  stop(): Promise<void>;
  /** a copy of the counters */
  stats(): ConsumerStats;
}

/**
 * A kafkajs consumer of Debezium change events with the consumer error policy of @warmhouse/messaging: partitions
 * in order, offsets committed only after the handler resolved, tombstones skipped and committed, malformed
 * messages and non-retriable failures dead-lettered (with reason and origin in headers) and committed, retriable
 * failures retried with jittered backoff without ever skipping the message. With `tables`, events are validated
 * and typed per table.
 */
export function createChangeEventConsumer<T extends TableSpecs>(
  options: ChangeEventConsumerOptions<ChangeEventOf<T>> & { tables: T },
): ChangeEventConsumer;
export function createChangeEventConsumer(options: ChangeEventConsumerOptions<ChangeEvent>): ChangeEventConsumer;
export function createChangeEventConsumer(
  options: ChangeEventConsumerOptions<never> & { tables?: TableSpecs },
): ChangeEventConsumer {
  const { tables, ...rest } = options;
  const consumer = createMessageConsumer<ChangeEvent<unknown, unknown>>({
    ...rest,
    handle: options.handle as (event: ChangeEvent<unknown, unknown>, ctx: HandlerContext) => Promise<void>,
    parse: (m) => (tables ? parseChangeEvent(m, tables) : parseChangeEvent(m)),
    module: 'cdc-consumer',
  });
  return { start: () => consumer.start(), stop: () => consumer.stop(), stats: () => consumer.stats() };
}
