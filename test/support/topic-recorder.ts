import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { waitFor } from '@warmhouse/shared';

export interface RecordedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: unknown;
  value: unknown;
  headers: Record<string, string>;
}

/**
 * Records every message of some topics (own consumer group, from the beginning) so a test can wait for
 * the messages it expects. Disconnect it in afterAll.
 */
export async function recordTopics(brokers: string[], topics: string[]) {
  const kafka = new Kafka({ clientId: `test-recorder-${randomUUID()}`, brokers, logLevel: logLevel.NOTHING });
  const consumer: Consumer = kafka.consumer({ groupId: `test-recorder-${randomUUID()}`, maxWaitTimeInMs: 100 });
  const messages: RecordedMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      // keys and values are JSON on the CDC topics, but plain text elsewhere (device ids, dead letters)
      const parse = (b: Buffer | null): unknown => {
        if (b === null) return null;
        const text = b.toString('utf8');
        try {
          return JSON.parse(text) as unknown;
        } catch {
          return text;
        }
      };
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
      messages.push({
        topic,
        partition,
        offset: message.offset,
        key: parse(message.key),
        value: parse(message.value),
        headers,
      });
    },
  });
  return {
    messages,
    /** Waits until `predicate` holds for the recorded messages, returning what it returns. */
    until<T>(
      description: string,
      predicate: (all: RecordedMessage[]) => T | undefined,
      timeoutMs = 60_000,
    ): Promise<T> {
      return waitFor(description, () => predicate(messages), { timeoutMs, intervalMs: 100 });
    },
    stop: () => consumer.disconnect(),
  };
}
