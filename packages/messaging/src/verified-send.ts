import { Partitioners, type Admin, type Kafka, type Message, type Producer, type RecordMetadata } from 'kafkajs';
import { messagingError } from './errors';

/** How long a topic's partition count is trusted before it is read again. */
const PARTITION_COUNT_TTL_MS = 60_000;

/**
 * The partition kafkajs' default partitioner (murmur2, as Java clients) picks among `count` partitions: the same
 * function, so a key lands where it always did.
 */
export function partitionFor(topic: string, message: Message, count: number): number {
  const partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));
  return DEFAULT_PARTITIONER({ topic, partitionMetadata, message });
}
const DEFAULT_PARTITIONER = Partitioners.DefaultPartitioner();

/** Partitions that were sent to but have no error-free acknowledgement in the send's result. */
export function unacknowledgedPartitions(
  topic: string,
  sentTo: ReadonlySet<number>,
  result: readonly RecordMetadata[],
): number[] {
  const acked = new Set(result.filter((r) => r.topicName === topic && r.errorCode === 0).map((r) => r.partition));
  return [...sentTo].filter((p) => !acked.has(p)).sort((a, b) => a - b);
}

/**
 * Sends through a kafkajs producer and resolves only when every partition written to acknowledged.
 *
 * Why: kafkajs 2.2.4 retries a failed send only towards brokers that have not answered yet. When the leader of a
 * partition dies and leadership moves to a broker that already acknowledged other partitions of the same send,
 * that partition's messages are never sent again, and `send` still resolves — acknowledged, yet lost (the
 * broker-loss test caught it). So partitions are assigned here (the same murmur2 function), and a send whose result
 * lacks one of them rejects with the retriable MESSAGE_ERR_SEND_INCOMPLETE.
 */
export function createVerifiedSender(kafka: Kafka) {
  const counts = new Map<string, { count: number; at: number }>();
  let admin: Promise<Admin> | undefined;

  const partitionCount = async (topic: string): Promise<number> => {
    const known = counts.get(topic);
    if (known && Date.now() - known.at < PARTITION_COUNT_TTL_MS) return known.count;
    admin ??= (async () => {
      const a = kafka.admin();
      await a.connect();
      return a;
    })();
    const { topics } = await (await admin).fetchTopicMetadata({ topics: [topic] });
    const count = topics[0]?.partitions.length ?? 0;
    if (count === 0) throw messagingError('MESSAGE_ERR_SEND_INCOMPLETE', `topic ${topic} has no partitions (yet)`);
    counts.set(topic, { count, at: Date.now() });
    return count;
  };

  return {
    async send(
      producer: Producer,
      record: { topic: string; messages: Message[]; acks: number; timeout?: number },
    ): Promise<RecordMetadata[]> {
      const count = await partitionCount(record.topic);
      const messages = record.messages.map((m) => ({
        ...m,
        partition: m.partition ?? partitionFor(record.topic, m, count),
      }));
      const result = await producer.send({ ...record, messages });
      const missing = unacknowledgedPartitions(record.topic, new Set(messages.map((m) => m.partition)), result);
      if (missing.length > 0) {
        counts.delete(record.topic);
        throw messagingError(
          'MESSAGE_ERR_SEND_INCOMPLETE',
          `${record.topic}: no acknowledgement for partition(s) ${missing.join(', ')}; nothing of this send counts as delivered`,
          { details: { topic: record.topic, missing } },
        );
      }
      return result;
    },
    async close(): Promise<void> {
      const a = admin;
      admin = undefined;
      if (a) await (await a).disconnect().catch(() => undefined);
    },
  };
}

export type VerifiedSender = ReturnType<typeof createVerifiedSender>;
