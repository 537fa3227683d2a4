import type { Kafka, ProducerRecord } from 'kafkajs';
import { createEventProducer, PRODUCER_SETTINGS } from './producer';

function fakeKafka() {
  const sent: ProducerRecord[] = [];
  const configs: unknown[] = [];
  const kafka = {
    producer: (config: unknown) => {
      configs.push(config);
      return {
        events: { CONNECT: 'connect', DISCONNECT: 'disconnect' },
        on: () => undefined,
        connect: async () => undefined,
        disconnect: async () => undefined,
        send: async (record: ProducerRecord) => {
          sent.push(record);
          const partitions = [...new Set(record.messages.map((m) => m.partition!))];
          return partitions.map((partition) => ({ topicName: record.topic, partition, errorCode: 0 }));
        },
      };
    },
    admin: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      fetchTopicMetadata: async () => ({ topics: [{ name: 't', partitions: [{}] }] }),
    }),
  } as unknown as Kafka;
  return { kafka, sent, configs };
}

describe('event producer', () => {
  it('is idempotent with one request in flight and sends with acks=all, objects as JSON', async () => {
    const { kafka, sent, configs } = fakeKafka();
    const producer = createEventProducer(kafka);
    await producer.publish('t', [{ key: 'k', value: { a: 1 }, headers: { 'event-id': 'e' } }]);
    expect(configs[0]).toMatchObject({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    expect(PRODUCER_SETTINGS.idempotent).toBe(true);
    expect(sent).toEqual([
      { topic: 't', acks: -1, messages: [{ key: 'k', value: '{"a":1}', headers: { 'event-id': 'e' }, partition: 0 }] },
    ]);
  });

  it('sends nothing for an empty list', async () => {
    const { kafka, sent } = fakeKafka();
    await createEventProducer(kafka).publish('t', []);
    expect(sent).toEqual([]);
  });
});
