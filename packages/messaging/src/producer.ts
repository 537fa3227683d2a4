import type { Logger } from '@warmhouse/shared';
import { Partitioners, type IHeaders, type Kafka, type Producer, type ProducerConfig } from 'kafkajs';
import type { Envelope } from './envelope';
import { MESSAGE_HEADERS } from './headers';
import { createVerifiedSender } from './verified-send';

/**
 * Producer settings every service uses. Idempotent (the broker drops a retried batch it already has, so a retry
 * never duplicates or reorders within a partition), one request in flight per broker connection (kafkajs tracks
 * idempotent sequence numbers reliably only so; Kafka itself allows up to 5), retries left at kafkajs' idempotent
 * default (unbounded, with backoff: a send resolves once the cluster takes it), no topic auto-creation (topics are
 * created deliberately, with their retention), and murmur2 partitioning as Java clients (same key, same
 * partition, whoever produces).
 */
export const PRODUCER_SETTINGS = Object.freeze({
  idempotent: true,
  maxInFlightRequests: 1,
  allowAutoTopicCreation: false,
  createPartitioner: Partitioners.DefaultPartitioner,
} satisfies ProducerConfig);

/** Every send waits for all in-sync replicas (min.insync.replicas=2 in the 3-broker mode). */
export const PRODUCER_ACKS = -1;

/** One record to publish: its key (the aggregate id, so one aggregate's messages stay in order), value, headers. */
export interface OutgoingRecord {
  key: string | null;
  /** an object is written as JSON */
  value: object | string | Buffer | null;
  headers?: IHeaders;
}

/** The standard headers of an enveloped message (see MESSAGE_HEADERS). */
export function envelopeHeaders(envelope: Envelope): Record<string, string> {
  return {
    [MESSAGE_HEADERS.eventId]: envelope.eventId,
    [MESSAGE_HEADERS.eventType]: envelope.type,
    [MESSAGE_HEADERS.schemaVersion]: String(envelope.schemaVersion),
    [MESSAGE_HEADERS.source]: envelope.source,
    ...(envelope.requestId ? { [MESSAGE_HEADERS.requestId]: envelope.requestId } : {}),
  };
}

/** A kafkajs producer with {@link PRODUCER_SETTINGS} that always sends with acks=all. */
export interface EventProducer {
  connect(): Promise<void>;
  /** resolves once every in-sync replica has the records (in order, per key); rejects if the cluster refused them */
  publish(topic: string, records: readonly OutgoingRecord[], opts?: { timeoutMs?: number }): Promise<void>;
  /** true between connect and disconnect (kafkajs' own view) */
  connected(): boolean;
  disconnect(): Promise<void>;
}

/**
 * After a failed send the kafkajs producer is replaced by a new one (new producer id) before the next publish.
 *
 * Why: kafkajs keeps an idempotence sequence number per partition and never re-synchronises it with the broker.
 * When a broker dies after it replicated a batch but before its answer arrived, kafkajs rolls the sequence back; the
 * retry (the caller re-sends a batch of another size) then starts at a sequence the broker already has, which is
 * OUT_OF_ORDER_SEQUENCE_NUMBER, not retriable — and every later send of that producer fails the same way (the
 * broker-loss test saw an outbox relay stall for good). A new producer id starts every sequence at 0. What the
 * failed send may have written counts as not delivered, so the caller's retry can duplicate it: consumers
 * de-duplicate on the event id.
 */
export function createEventProducer(
  kafka: Kafka,
  opts: { logger?: Logger; retry?: ProducerConfig['retry'] } = {},
): EventProducer {
  const sender = createVerifiedSender(kafka);
  let isConnected = false;
  let wanted = false;
  let stale = false;
  const make = () => {
    const p = kafka.producer({ ...PRODUCER_SETTINGS, ...(opts.retry ? { retry: opts.retry } : {}) });
    p.on(p.events.CONNECT, () => {
      if (p === producer) isConnected = true;
    });
    p.on(p.events.DISCONNECT, () => {
      if (p === producer) isConnected = false;
    });
    return p;
  };
  let producer: Producer = make();

  // one replacement at a time: concurrent publishes wait for it rather than send through a producer not connected yet
  let replacing: Promise<void> | undefined;
  const replaceStale = () =>
    (replacing ??= (async () => {
      const old = producer;
      producer = make();
      stale = false;
      isConnected = false;
      void old.disconnect().catch(() => undefined);
      try {
        await producer.connect();
      } catch (err) {
        stale = true;
        throw err;
      }
      isConnected = true;
      opts.logger?.info({ event: 'producer_replaced' }, 'kafka producer replaced after a failed send');
    })().finally(() => (replacing = undefined)));

  return {
    async connect() {
      wanted = true;
      await producer.connect();
      isConnected = true;
    },
    async publish(topic, records, { timeoutMs } = {}) {
      if (records.length === 0) return;
      if (wanted && (stale || replacing)) await replaceStale();
      try {
        await sender.send(producer, {
          topic,
          acks: PRODUCER_ACKS,
          ...(timeoutMs ? { timeout: timeoutMs } : {}),
          messages: records.map((r) => ({
            key: r.key,
            value:
              r.value === null || typeof r.value === 'string' || Buffer.isBuffer(r.value)
                ? r.value
                : JSON.stringify(r.value),
            headers: r.headers,
          })),
        });
      } catch (err) {
        stale = true;
        opts.logger?.warn({ event: 'producer_send_failed', topic, err }, 'send failed; the producer will be replaced');
        throw err;
      }
    },
    connected: () => isConnected,
    async disconnect() {
      wanted = false;
      await sender.close();
      await producer.disconnect();
      isConnected = false;
    },
  };
}
