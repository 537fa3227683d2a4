import type { Kafka, ProducerRecord } from 'kafkajs';
import { createEventProducer, PRODUCER_SETTINGS } from './producer';

/** A kafkajs stand-in: `failures` sends reject (a broker refusing), every producer made is kept with its life. */
function fakeKafka(failures = 0) {
  const sent: ProducerRecord[] = [];
  const configs: unknown[] = [];
  const producers: Array<{ connects: number; disconnects: number; sends: number }> = [];
  let toFail = failures;
  const kafka = {
    producer: (config: unknown) => {
      configs.push(config);
      const life = { connects: 0, disconnects: 0, sends: 0 };
      producers.push(life);
      let connecting = false;
      return {
        events: { CONNECT: 'connect', DISCONNECT: 'disconnect' },
        on: () => undefined,
        // connecting takes a turn of the event loop, and a send meanwhile fails (as in kafkajs)
        connect: async () => {
          connecting = true;
          await new Promise((resolve) => setImmediate(resolve));
          connecting = false;
          life.connects++;
        },
        disconnect: async () => void life.disconnects++,
        send: async (record: ProducerRecord) => {
          if (connecting) throw new Error('The producer is not connected yet');
          life.sends++;
          if (toFail > 0) {
            toFail--;
            throw Object.assign(new Error('The broker received an out of order sequence number'), {
              type: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
              retriable: false,
            });
          }
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
  return { kafka, sent, configs, producers };
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

  it('replaces the kafkajs producer after a failed send, so a broken idempotence sequence is not reused', async () => {
    const { kafka, sent, producers } = fakeKafka(1);
    const producer = createEventProducer(kafka);
    await producer.connect();
    const record = { key: 'k', value: 'v' };
    await expect(producer.publish('t', [record])).rejects.toMatchObject({ type: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
    expect(producers).toHaveLength(1);

    await producer.publish('t', [record]);
    expect(producers).toEqual([
      { connects: 1, disconnects: 1, sends: 1 },
      { connects: 1, disconnects: 0, sends: 1 },
    ]);
    expect(sent).toHaveLength(1);
    expect(producer.connected()).toBe(true);

    // a healthy producer is kept
    await producer.publish('t', [record]);
    expect(producers).toHaveLength(2);
    await producer.disconnect();
    expect(producers[1]).toMatchObject({ disconnects: 1 });
    expect(producer.connected()).toBe(false);
  });

  it('replaces a failed producer once for concurrent publishes, which wait for it to connect', async () => {
    const { kafka, sent, producers } = fakeKafka(1);
    const producer = createEventProducer(kafka);
    await producer.connect();
    await expect(producer.publish('t', [{ key: 'k', value: 'v' }])).rejects.toThrow();
    await Promise.all([
      producer.publish('t', [{ key: 'a', value: '1' }]),
      producer.publish('t', [{ key: 'b', value: '2' }]),
    ]);
    expect(producers).toHaveLength(2);
    expect(sent).toHaveLength(2);
  });

  it('does not bring a disconnected producer back to life', async () => {
    const { kafka, producers } = fakeKafka(1);
    const producer = createEventProducer(kafka);
    await producer.connect();
    await expect(producer.publish('t', [{ key: 'k', value: 'v' }])).rejects.toThrow();
    await producer.disconnect();
    await producer.publish('t', [{ key: 'k', value: 'v' }]).catch(() => undefined);
    expect(producers).toHaveLength(1);
  });
});
