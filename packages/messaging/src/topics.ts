import { waitFor } from '@warmhouse/shared';
import type { Admin, ITopicConfig } from 'kafkajs';

/**
 * Topic conventions. Names are `<owner>.<what>` (Debezium's are `<prefix>.<schema>.<table>`); a dead-letter topic
 * is its source topic plus `.dlq` (a consumer group that needs its own adds a segment before it, e.g.
 * `.telemetry.dlq`). Every topic a service creates must appear in docs/asyncapi.yaml (a unit test checks).
 */
export const DEAD_LETTER_SUFFIX = '.dlq';

/** Metadata errors that only mean "not every broker knows the new topic yet". */
const NOT_YET = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/**
 * Creates the missing ones of `topics` (an existing topic is left as it is; partitions and replication default to
 * the broker's: 3 replicas in the 3-broker mode) and waits until every partition has a leader. kafkajs' own
 * `waitForLeaders` gives up when the broker it asks has not learnt of the topic yet, which happens on a
 * multi-broker KRaft cluster; this waits that out. Returns the names it created.
 */
export async function ensureTopics(
  admin: Admin,
  topics: readonly ITopicConfig[],
  { timeoutMs = 60_000 }: { timeoutMs?: number } = {},
): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  if (missing.length > 0) {
    await admin.createTopics({ topics: [...missing], waitForLeaders: false }).catch((err: unknown) => {
      // another process created it between listTopics and createTopics
      if ((err as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw err;
    });
  }
  const names = topics.map((t) => t.topic);
  // waitFor retries whatever the probe throws: a real failure is handed out as a value instead, to fail at once
  const outcome = await waitFor<{ failed?: unknown }>(
    `a leader for every partition of ${names.join(', ')}`,
    async () => {
      try {
        const { topics: meta } = await admin.fetchTopicMetadata({ topics: names });
        return meta.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)) ? {} : undefined;
      } catch (err) {
        return NOT_YET.has((err as { type?: string }).type ?? '') ? undefined : { failed: err };
      }
    },
    { timeoutMs, intervalMs: 200 },
  );
  if (outcome.failed !== undefined) throw outcome.failed;
  return missing.map((t) => t.topic);
}
