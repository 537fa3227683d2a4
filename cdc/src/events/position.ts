import type { ChangeEvent } from './parse';
import type { Lsn } from './lsn';

/**
 * Position stored for a row that was last written by a snapshot read (`op: "r"`).
 *
 * Why snapshot reads do not store their own LSN: every row of a snapshot carries the same `source.lsn`, the
 * slot's consistent point, and a transaction that wrote a row *before* that point but committed *after* it is
 * not in the snapshot and is streamed with a change LSN *below* the snapshot's. Comparing against the snapshot
 * LSN would drop that newer change. Every streamed change is newer than every snapshot read of the same
 * connector, so snapshot reads rank below all streamed positions.
 */
export const SNAPSHOT_POSITION: Lsn = 0n;

/**
 * The position to compare with, and store next to, the row an event writes.
 *
 * Streamed changes use `source.lsn`, the WAL position of the change itself. It is unique per change, unlike the
 * commit LSN that all rows of one transaction share: a transaction that updates the same row twice produces two
 * positions, and the second one wins. Per row it grows in commit order, because PostgreSQL's row locks make a
 * later writer of a row write after the earlier writer committed. Snapshot reads use {@link SNAPSHOT_POSITION}.
 */
export function positionOf(event: Pick<ChangeEvent, 'op' | 'lsn'>): Lsn {
  return event.op === 'r' ? SNAPSHOT_POSITION : event.lsn;
}

/**
 * Whether an event at `eventPosition` should be applied over a row stored at `storedPosition`
 * (`null`/`undefined`: nothing stored yet). Duplicates and older redeliveries compare `false`.
 *
 * A snapshot read over a row stored by a snapshot read compares `true`: snapshot reads of one key reach a
 * partition in the order they were taken, and a snapshot re-run after an interrupted one must refresh rows
 * the first run stored.
 *
 * In SQL, with the position in a `bigint` column `cdc_position`:
 * ```sql
 * INSERT INTO heating (id, …, cdc_position) VALUES ($1, …, $n)
 * ON CONFLICT (id) DO UPDATE SET …, cdc_position = EXCLUDED.cdc_position
 * WHERE heating.cdc_position < EXCLUDED.cdc_position
 *    OR (heating.cdc_position = 0 AND EXCLUDED.cdc_position = 0)
 * ```
 */
export function isNewer(eventPosition: Lsn, storedPosition: Lsn | null | undefined): boolean {
  if (storedPosition == null) return true;
  if (eventPosition === SNAPSHOT_POSITION && storedPosition === SNAPSHOT_POSITION) return true;
  return eventPosition > storedPosition;
}

/** Reads and writes the stored position of the row an event touches; see {@link applyIfNewer}. */
export interface PositionedStore<E> {
  /** position stored for the event's row, `null`/`undefined` when there is none */
  storedPosition(event: E): Promise<Lsn | null | undefined>;
  /** applies the event and stores `position` with the row, durably, before resolving */
  apply(event: E, position: Lsn): Promise<void>;
}

/**
 * Applies `event` only if it is newer than what is stored for its row; returns whether it did.
 *
 * Read-then-write is safe only while one consumer applies a given key at a time (true for a consumer group: a key
 * lives in one partition). A single conditional statement, as in {@link isNewer}, is better where the store has
 * one. Deletes: a hard delete forgets the position, so a redelivered older `c`/`u` recreates the row until the
 * redelivery reaches the `d` again (redelivery replays a contiguous stretch of the partition, so it always
 * does). Keep a deleted marker with its position where that transient resurrection matters.
 */
export async function applyIfNewer<E extends Pick<ChangeEvent, 'op' | 'lsn'>>(
  event: E,
  store: PositionedStore<E>,
): Promise<boolean> {
  const position = positionOf(event);
  if (!isNewer(position, await store.storedPosition(event))) return false;
  await store.apply(event, position);
  return true;
}
