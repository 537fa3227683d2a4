import type { Admin } from 'kafkajs';

/** Lag of one consumer group on one partition. */
export interface LagRow {
  group: string;
  topic: string;
  partition: number;
  /** committed offset; -1 when the group has committed nothing there yet */
  committed: number;
  /** end offset (high watermark) */
  end: number;
  /** messages not yet consumed: end − committed (end − low watermark when nothing is committed) */
  lag: number;
}

/** Committed offsets of a group as kafkajs returns them (offsets are strings). */
export type GroupOffsets = Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>;
/** Watermarks of a topic as kafkajs returns them. */
export type TopicWatermarks = Array<{ partition: number; high: string; low: string }>;

/** Pure: lag per partition of one group. */
export function computeLag(
  group: string,
  committed: GroupOffsets,
  ends: ReadonlyMap<string, TopicWatermarks>,
): LagRow[] {
  const rows: LagRow[] = [];
  for (const { topic, partitions } of committed) {
    const marks = ends.get(topic) ?? [];
    for (const { partition, offset } of partitions) {
      const mark = marks.find((m) => m.partition === partition);
      if (!mark) continue;
      const end = Number(mark.high);
      const c = Number(offset);
      const from = c < 0 ? Number(mark.low) : c;
      rows.push({ group, topic, partition, committed: c, end, lag: Math.max(0, end - from) });
    }
  }
  return rows.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

/** Lag of every partition each group has committed to (kafkajs admin `fetchOffsets` vs `fetchTopicOffsets`). */
export async function readLag(admin: Admin, groups: readonly string[]): Promise<LagRow[]> {
  const rows: LagRow[] = [];
  const ends = new Map<string, TopicWatermarks>();
  for (const group of groups) {
    const committed = (await admin.fetchOffsets({ groupId: group })) as GroupOffsets;
    for (const { topic } of committed) {
      if (!ends.has(topic)) ends.set(topic, await admin.fetchTopicOffsets(topic));
    }
    rows.push(...computeLag(group, committed, ends));
  }
  return rows;
}
