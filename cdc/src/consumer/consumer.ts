import type { Logger } from '@warmhouse/shared';
import {
  createMessageConsumer,
  kafkaClientOf,
  sleep,
  type BackoffOptions,
  type CommitPolicy,
  type ConsumerStats,
  type HandlerContext,
  type BatchHandling,
  type KafkaOrBrokers,
  type UnitOfWork,
} from '@warmhouse/messaging';
import type { Admin, ConsumerConfig } from 'kafkajs';
import { parseChangeEvent, type ChangeEvent, type ChangeEventOf, type TableSpecs } from '../events';
import type { Queryable } from '@warmhouse/shared';
import type { Pool, PoolClient } from 'pg';
import { AppliedPositions, type AppliedPosition, type PartitionOffsets } from './applied';
import type { AppliedStore } from './applied-store';

/** What a change handler learns besides the event. */
export interface ChangeHandlerContext extends HandlerContext {
  /**
   * Records the change as applied in `tx`, the transaction that applies it (with an `appliedStore`; a no-op
   * without). A handler that does not call it has the position recorded right after it resolved.
   */
  applied(tx: Queryable): Promise<void>;
  /**
   * With `transactions`: the transaction this change is applied in, shared with the changes before and after it
   * in the same unit; the handler must do its work there (and neither commit nor roll back).
   */
  tx?: PoolClient;
}

/** Options of grouped transactions (see {@link ChangeEventConsumerOptions.transactions}). */
export interface ChangeTransactions {
  pool: Pool;
  /** most changes in one transaction; default 100 */
  maxMessages?: number;
  /** a transaction open this long takes no more changes, ms; default 20 */
  maxMs?: number;
}

/** One change of a {@link ChangeBatch}, with where it was read. */
export interface BatchChangeItem<E> {
  event: E;
  topic: string;
  partition: number;
  offset: string;
  /** the record's Kafka timestamp (ms): when Kafka Connect produced it, for Debezium's topics */
  recordTsMs?: number;
}

/**
 * Set-based apply (see {@link ChangeEventConsumerOptions.batch}): the changes of a fetched batch (one topic
 * partition, in offset order, heartbeats left out) in one transaction, the applied position recorded in it.
 */
export interface ChangeBatch<E> {
  pool: Pool;
  /** most changes in one transaction; default 500 */
  maxChanges?: number;
  /**
   * Applies every change in `tx` (neither commit nor roll back); a failure makes them go one by one. May resolve
   * with a function to call once the transaction committed (metrics, logs).
   */
  apply(
    changes: ReadonlyArray<BatchChangeItem<E>>,
    ctx: { tx: PoolClient; logger: Logger },
  ): Promise<void | (() => void)>;
}

type ParsedEvent = ChangeEvent<unknown, unknown>;

/** A pooled connection in an open transaction. */
async function beginTransaction(pool: Pool): Promise<PoolClient> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
  } catch (err) {
    client.release(err as Error);
    throw err;
  }
  return client;
}

async function rollbackTransaction(client: PoolClient): Promise<void> {
  try {
    await client.query('ROLLBACK');
    client.release();
  } catch (err) {
    client.release(err as Error); // the connection is broken: drop it from the pool
  }
}

/** Options of {@link createChangeEventConsumer}. */
export interface ChangeEventConsumerOptions<E> {
  /** a kafkajs client to share, or the brokers to create one for */
  kafka: KafkaOrBrokers;
  groupId: string;
  topics: string[];
  logger: Logger;
  /**
   * Applies one change; resolve only once it is durably applied (its offset may be committed right after).
   * Throw a retriable error (or any error without `retriable: false` that is not a programmer error) to have
   * it retried with backoff; a non-retriable error dead-letters the message.
   */
  handle: (event: E, ctx: ChangeHandlerContext) => Promise<void>;
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
  /**
   * Debezium heartbeat topic (`monolith.public.cdc_heartbeat`) to subscribe to as well: its events never reach
   * `handle`, they only advance the applied position (see {@link AppliedPositions}), so `GET /cdc/applied` keeps
   * moving while the business tables are idle.
   */
  heartbeatTopic?: string;
  /** how often a consumed heartbeat is checked against the business topics' end offsets, ms; default 100 */
  watermarkEveryMs?: number;
  /**
   * The service's applied-positions table: every applied change is recorded there (in the handler's transaction,
   * see {@link ChangeHandlerContext.applied}) and the heartbeat watermark waits for what the whole service (every
   * replica) has applied, so `GET /cdc/applied` can answer from the database for the whole service.
   */
  appliedStore?: AppliedStore;
  /**
   * Applies consecutive changes of a partition in one database transaction (`ctx.tx`) instead of one each, the
   * applied position recorded in it: one commit for many changes. A failure rolls the transaction back and its
   * changes are applied again one transaction each (retries and dead letters stay per change).
   */
  transactions?: ChangeTransactions;
  /**
   * Applies the changes of each fetched batch set-based in one transaction (see {@link ChangeBatch}); when that
   * fails, they are applied one by one through `handle` (retries and dead letters per change). Wins over
   * `transactions`.
   */
  batch?: ChangeBatch<E>;
}

/** A running change-event consumer. */
export interface ChangeEventConsumer {
  /** connects, joins the group and starts consuming; resolves once consumption has started */
  start(): Promise<void>;
  /** finishes the message in flight, commits what was handled, leaves the group and disconnects; idempotent */
  stop(): Promise<void>;
  /** a copy of the counters */
  stats(): ConsumerStats;
  /** started and not stopping */
  running(): boolean;
  /** per topic, the last change applied (the body of `GET /cdc/applied`, see `cdcAppliedHandler`) */
  applied(): Record<string, AppliedPosition>;
}

/**
 * A kafkajs consumer of Debezium change events with the consumer error policy of @warmhouse/messaging: partitions
 * in order, offsets committed only after the handler
 * resolved, tombstones skipped and committed, malformed messages and non-retriable failures dead-lettered (with
 * reason and origin in headers) and committed, retriable failures retried with jittered backoff without ever
 * skipping the message. With `tables`, events are validated and typed per table.
 */
export function createChangeEventConsumer<T extends TableSpecs>(
  options: ChangeEventConsumerOptions<ChangeEventOf<T>> & { tables: T },
): ChangeEventConsumer;
export function createChangeEventConsumer(options: ChangeEventConsumerOptions<ChangeEvent>): ChangeEventConsumer;
export function createChangeEventConsumer(
  options: ChangeEventConsumerOptions<never> & { tables?: TableSpecs },
): ChangeEventConsumer {
  const logger = options.logger.child({ module: 'cdc-consumer', groupId: options.groupId });
  const kafka = kafkaClientOf(options.kafka, { clientId: options.groupId, logger });
  const { tables, heartbeatTopic, watermarkEveryMs, appliedStore: store, transactions, batch, ...rest } = options;
  const businessTopics = options.topics.filter((t) => t !== heartbeatTopic);
  const applied = new AppliedPositions(heartbeatTopic);
  const handleChange = options.handle as (event: ParsedEvent, ctx: ChangeHandlerContext) => Promise<void>;
  const stopping = new AbortController();

  const positionOf = (event: ParsedEvent, message: { partition: number; offset: string }): AppliedPosition => ({
    lsn: event.lsn.toString(),
    sourceTsMs: event.sourceTsMs,
    appliedAtMs: Date.now(),
    partition: message.partition,
    offset: message.offset,
  });
  const noop = () => Promise.resolve();

  /** Runs the handler with `ctx.applied`; records the position itself when the handler did not. */
  const handle = async (event: ParsedEvent, ctx: HandlerContext): Promise<void> => {
    // in a unit of work, the position is recorded once, when the unit commits
    if (ctx.unit !== undefined) return handleChange(event, { ...ctx, tx: ctx.unit as PoolClient, applied: noop });
    if (store === undefined) return handleChange(event, { ...ctx, applied: noop });
    let recorded = false;
    await handleChange(event, {
      ...ctx,
      applied: async (tx) => {
        await store.record(tx, ctx.topic, positionOf(event, ctx));
        recorded = true;
      },
    });
    if (!recorded) await store.record(store.pool, ctx.topic, positionOf(event, ctx));
  };

  const unitOfWork: UnitOfWork<ParsedEvent> | undefined = transactions && {
    maxMessages: transactions.maxMessages ?? 100,
    maxMs: transactions.maxMs ?? 20,
    begin: () => beginTransaction(transactions.pool),
    async commit(unit, items) {
      const client = unit as PoolClient;
      const last = [...items].reverse().find((i) => i.event !== undefined && i.message.topic !== heartbeatTopic);
      if (store && last?.event) await store.record(client, last.message.topic, positionOf(last.event, last.message));
      await client.query('COMMIT');
      client.release();
    },
    rollback: (unit) => rollbackTransaction(unit as PoolClient),
  };

  const batchHandling: BatchHandling<ParsedEvent> | undefined = batch && {
    maxMessages: batch.maxChanges ?? 500,
    async handleAll(items, ctx) {
      if (ctx.topic === heartbeatTopic) return; // heartbeats only move the watermark (see AppliedPositions)
      const changes = items.map(({ event, message: m }) => ({
        event,
        topic: m.topic,
        partition: m.partition,
        offset: m.offset,
        ...(m.timestamp ? { recordTsMs: Number(m.timestamp) } : {}),
      }));
      const client = await beginTransaction(batch.pool);
      let committed: void | (() => void);
      try {
        committed = await (batch as ChangeBatch<ParsedEvent>).apply(changes, { tx: client, logger: ctx.logger });
        const last = items[items.length - 1]!;
        if (store) await store.record(client, ctx.topic, positionOf(last.event, last.message));
        await client.query('COMMIT');
      } catch (err) {
        await rollbackTransaction(client);
        throw err;
      }
      client.release();
      committed?.();
    },
  };

  const consumer = createMessageConsumer<ParsedEvent>({
    ...rest,
    kafka,
    topics: heartbeatTopic ? [...businessTopics, heartbeatTopic] : options.topics,
    parse: (m) => (tables && m.topic !== heartbeatTopic ? parseChangeEvent(m, tables) : parseChangeEvent(m)),
    handle: (event, ctx) => (ctx.topic === heartbeatTopic ? Promise.resolve() : handle(event, ctx)),
    onDone: (m, event) => applied.record(m.topic, m.partition, m.offset, event),
    ...(batchHandling ? { batch: batchHandling } : unitOfWork ? { unitOfWork } : {}),
    module: 'cdc-consumer',
  });

  /** Offers the consumed heartbeat with end and committed offsets of the business topics read after it. */
  const offerPending = async (admin: Admin): Promise<void> => {
    const heartbeat = applied.pendingHeartbeat();
    if (heartbeat === undefined) return;
    const ends: PartitionOffsets[] = [];
    for (const topic of businessTopics) {
      for (const p of await admin.fetchTopicOffsets(topic)) {
        ends.push({ topic, partition: p.partition, end: BigInt(p.high) });
      }
    }
    const committed = await admin.fetchOffsets({ groupId: options.groupId, topics: businessTopics });
    for (const t of committed) {
      for (const p of t.partitions) {
        const end = ends.find((e) => e.topic === t.topic && e.partition === p.partition);
        if (end && BigInt(p.offset) >= 0n) end.committed = BigInt(p.offset);
      }
    }
    applied.offer(heartbeat, ends);
  };

  /** With a store: settles the candidate on what every replica applied, and records a new watermark there. */
  let persisted: string | undefined;
  const syncStore = async (): Promise<void> => {
    if (store === undefined || heartbeatTopic === undefined) return;
    if (applied.waiting()) applied.progress(await store.nextOffsets(businessTopics));
    const w = applied.watermark();
    if (w && w.offset !== persisted) {
      await store.record(store.pool, heartbeatTopic, w);
      persisted = w.offset;
    }
  };

  const watermarks = async (): Promise<void> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      while (!stopping.signal.aborted) {
        await sleep(watermarkEveryMs ?? 100, stopping.signal);
        if (stopping.signal.aborted) break;
        try {
          await offerPending(admin);
          await syncStore();
        } catch (err) {
          logger.warn({ event: 'cdc_watermark_failed', err }, 'could not advance the heartbeat watermark');
        }
      }
    } finally {
      await admin.disconnect();
    }
  };

  let stopped: Promise<void> | undefined;
  let watermarkLoop: Promise<void> | undefined;
  return {
    async start() {
      await consumer.start();
      if (heartbeatTopic) {
        watermarkLoop = watermarks().catch((err: unknown) =>
          logger.error({ event: 'cdc_watermark_stopped', err }, 'heartbeat watermark loop stopped'),
        );
      }
    },
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        await watermarkLoop;
        await consumer.stop();
      })();
      return stopped;
    },
    stats: () => consumer.stats(),
    running: () => consumer.running(),
    applied: () => applied.snapshot(),
  };
}
