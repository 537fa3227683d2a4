import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '@warmhouse/shared';

/** The last change seen on a CDC topic. */
export interface LastChange {
  topic: string;
  /** `schema.table` from the event's `source` block */
  table: string;
  /** source commit time, ms since epoch */
  sourceTsMs: number;
  op: string;
}

/** Freshness of one table: how old the newest change that reached its topic is. */
export interface FreshnessReport {
  topic: string;
  table: string | null;
  lastSourceCommitAt: string | null;
  /** now − source commit time of the last change on the topic; null while none has been seen */
  freshnessSeconds: number | null;
  overThreshold: boolean;
}

/** Pure: the source commit time of a Debezium change event value, or undefined for tombstones and other messages. */
export function lastChangeOf(topic: string, value: Buffer | null): LastChange | undefined {
  if (value === null) return undefined;
  try {
    const event = JSON.parse(value.toString('utf8')) as {
      op?: unknown;
      source?: { ts_ms?: unknown; schema?: unknown; table?: unknown };
    };
    const ts = event.source?.ts_ms;
    if (typeof ts !== 'number' || typeof event.op !== 'string') return undefined;
    return {
      topic,
      table: `${String(event.source?.schema)}.${String(event.source?.table)}`,
      sourceTsMs: ts,
      op: event.op,
    };
  } catch {
    return undefined;
  }
}

/**
 * Pure: freshness of every topic at `now`. Only `alarmTopics` (default: all) can be over the threshold: a table
 * nobody writes to grows old without anything being wrong, while the heartbeat table changes every second (heartbeat.interval.ms).
 */
export function judgeFreshness(
  topics: readonly string[],
  last: ReadonlyMap<string, LastChange>,
  now: number,
  thresholdSeconds: number,
  alarmTopics: readonly string[] = topics,
): FreshnessReport[] {
  return topics.map((topic) => {
    const change = last.get(topic);
    if (!change) return { topic, table: null, lastSourceCommitAt: null, freshnessSeconds: null, overThreshold: false };
    const freshnessSeconds = Math.max(0, (now - change.sourceTsMs) / 1000);
    return {
      topic,
      table: change.table,
      lastSourceCommitAt: new Date(change.sourceTsMs).toISOString(),
      freshnessSeconds,
      overThreshold: alarmTopics.includes(topic) && freshnessSeconds > thresholdSeconds,
    };
  });
}

/**
 * Tails the CDC topics with a consumer group of its own (never committing) that starts at the last message of
 * each partition, and keeps the newest source commit time seen per topic.
 */
export async function startFreshnessTail(kafka: Kafka, topics: readonly string[], logger: Logger) {
  const last = new Map<string, LastChange>();
  const admin = kafka.admin();
  await admin.connect();
  const consumer: Consumer = kafka.consumer({ groupId: `warmhouse-cdc-monitor-${randomUUID()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topics: [...topics], fromBeginning: true });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    void (async () => {
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
        const marks = await admin.fetchTopicOffsets(topic);
        for (const partition of partitions) {
          const m = marks.find((x) => x.partition === partition);
          if (m && Number(m.high) > Number(m.low)) {
            consumer.seek({ topic, partition, offset: String(Number(m.high) - 1) });
          }
        }
      }
    })().catch((err: unknown) => logger.warn({ event: 'cdc_monitor_seek_failed', err }, 'seek to last message failed'));
  });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, message }) => {
      const change = lastChangeOf(topic, message.value);
      const prev = last.get(topic);
      if (change && (!prev || change.sourceTsMs >= prev.sourceTsMs)) last.set(topic, change);
    },
  });
  return {
    last: last as ReadonlyMap<string, LastChange>,
    stop: async () => {
      await consumer.disconnect();
      await admin.disconnect();
    },
  };
}
