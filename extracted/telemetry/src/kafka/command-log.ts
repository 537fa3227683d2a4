import type { Logger } from '@warmhouse/shared';
import { kafkajsLogCreator } from '@warmhouse/messaging';
import { Kafka, logLevel, Partitioners, type Admin, type IHeaders, type Producer } from 'kafkajs';
import { COMMAND_CONTENT_TYPE, encodeCommands } from '../domain/command';
import type { Reading } from '../domain/reading';
import { telemetryError } from '../errors';
import { createVerifiedSender, ensureTopics } from '@warmhouse/messaging';

/** One kafkajs client per process, logging through our logger. */
export function createKafka(opts: { brokers: string[]; clientId: string; logger: Logger }): Kafka {
  return new Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    logLevel: logLevel.WARN,
    logCreator: kafkajsLogCreator(opts.logger),
  });
}

/**
 * Creates the command log if it is missing: `partitions` partitions, kept forever (`retention.ms=-1`) because the
 * read models are rebuilt from offset 0. An existing topic is left as it is.
 */
export async function ensureCommandTopic(
  admin: Admin,
  topic: string,
  partitions: number,
  dlqTopic: string,
): Promise<void> {
  // ensureTopics waits for every partition's leader itself: kafkajs' waitForLeaders fails on a 3-node cluster when
  // the broker it asks has not learnt the new topic yet
  await ensureTopics(admin, [
    { topic, numPartitions: partitions, configEntries: [{ name: 'retention.ms', value: '-1' }] },
    { topic: dlqTopic, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '-1' }] },
  ]);
}

/** What one append wrote. */
export interface AppendResult {
  /** Kafka records (one per device of the request) */
  records: number;
}

/**
 * The write side's only dependency on Kafka: appends readings to the command log, one record per device keyed by it
 * (so one device's readings stay in order in one partition), and resolves only after every in-sync replica has
 * them (acks=all).
 */
export interface CommandLog {
  connect(): Promise<void>;
  append(readings: readonly Reading[], meta?: { requestId?: string }): Promise<AppendResult>;
  /** parks an unreadable record on the dead-letter topic, byte for byte, with why and where it came from */
  deadLetter(
    record: { key: Buffer | null; value: Buffer | null; headers?: IHeaders },
    headers: Record<string, string>,
  ): Promise<void>;
  /** true once connected, false after a fatal producer error or disconnect */
  connected(): boolean;
  disconnect(): Promise<void>;
}

export function createCommandLog(opts: {
  kafka: Kafka;
  topic: string;
  deadLetterTopic: string;
  logger: Logger;
}): CommandLog {
  const producer: Producer = opts.kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner, // murmur2, as Java clients: same key → same partition
    allowAutoTopicCreation: false,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
  });
  // every partition of a send must acknowledge, or nothing counts as accepted (a kafkajs 2.2.4 retry gap)
  const sender = createVerifiedSender(opts.kafka);
  let isConnected = false;
  producer.on(producer.events.CONNECT, () => (isConnected = true));
  producer.on(producer.events.DISCONNECT, () => (isConnected = false));
  return {
    async connect() {
      await producer.connect();
      isConnected = true;
    },
    async append(readings, meta = {}) {
      if (readings.length === 0) return { records: 0 };
      const headers: IHeaders = { 'content-type': COMMAND_CONTENT_TYPE };
      if (meta.requestId) headers['x-request-id'] = meta.requestId;
      const messages = encodeCommands(readings).map((r) => ({ ...r, headers }));
      try {
        await sender.send(producer, { topic: opts.topic, acks: -1, timeout: 10_000, messages });
      } catch (err) {
        throw telemetryError(
          'TELEMETRY_ERR_COMMAND_LOG_UNAVAILABLE',
          `Kafka did not acknowledge ${readings.length} reading(s) on ${opts.topic}: nothing was accepted`,
          { cause: err },
        );
      }
      return { records: messages.length };
    },
    async deadLetter(record, headers) {
      await sender.send(producer, {
        topic: opts.deadLetterTopic,
        acks: -1,
        messages: [{ key: record.key, value: record.value, headers: { ...record.headers, ...headers } }],
      });
    },
    connected: () => isConnected,
    async disconnect() {
      await sender.close();
      await producer.disconnect();
      isConnected = false;
    },
  };
}
