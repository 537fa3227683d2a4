import type { Kafka, Message, Producer, RecordMetadata } from 'kafkajs';
import { createVerifiedSender, partitionFor, unacknowledgedPartitions } from './verified-send';

/** A kafka whose admin knows one topic of three partitions, and a producer that acknowledges what it is told to. */
function fakes(acknowledge: (partitions: number[]) => number[]) {
  const sent: Message[][] = [];
  const kafka = {
    admin: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      fetchTopicMetadata: async () => ({ topics: [{ name: 't', partitions: [{}, {}, {}] }] }),
    }),
  } as unknown as Kafka;
  const producer = {
    send: async ({ messages }: { messages: Message[] }): Promise<RecordMetadata[]> => {
      sent.push(messages);
      const partitions = [...new Set(messages.map((m) => m.partition!))];
      return acknowledge(partitions).map((partition) => ({ topicName: 't', partition, errorCode: 0 }));
    },
  } as unknown as Producer;
  return { kafka, producer, sent };
}

const messages = Array.from({ length: 30 }, (_, i) => ({ key: `device-${i}`, value: String(i) }));

describe('verified send', () => {
  it('assigns partitions with the murmur2 function kafkajs would use, and resolves when every one acknowledged', async () => {
    const { kafka, producer, sent } = fakes((p) => p);
    const sender = createVerifiedSender(kafka);
    await sender.send(producer, { topic: 't', acks: -1, messages });
    expect(sent[0]!.map((m) => m.partition)).toEqual(messages.map((m) => partitionFor('t', m, 3)));
    expect(new Set(sent[0]!.map((m) => m.partition)).size).toBe(3);
    expect(partitionFor('t', { key: 'device-1', value: 'x' }, 3)).toBe(
      partitionFor('t', { key: 'device-1', value: 'y' }, 3),
    );
  });

  it('rejects, retriable, when the producer resolved without one partition (the kafkajs retry gap)', async () => {
    const { kafka, producer } = fakes((p) => p.slice(1));
    const sender = createVerifiedSender(kafka);
    await expect(sender.send(producer, { topic: 't', acks: -1, messages })).rejects.toMatchObject({
      code: 'MESSAGE_ERR_SEND_INCOMPLETE',
      retriable: true,
    });
  });

  it('names the partitions without an error-free acknowledgement', () => {
    const result = [
      { topicName: 't', partition: 0, errorCode: 0 },
      { topicName: 't', partition: 1, errorCode: 6 },
      { topicName: 'other', partition: 2, errorCode: 0 },
    ] as RecordMetadata[];
    expect(unacknowledgedPartitions('t', new Set([0, 1, 2]), result)).toEqual([1, 2]);
  });
});
