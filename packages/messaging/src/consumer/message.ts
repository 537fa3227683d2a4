import type { IHeaders } from 'kafkajs';

/** One Kafka record as a consumer sees it, before parsing. */
export interface SourceMessage {
  topic: string;
  partition: number;
  /** Kafka offset as kafkajs gives it: a decimal string (int64) */
  offset: string;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: IHeaders;
  /** the record's Kafka timestamp, ms since the epoch as kafkajs gives it (a decimal string) */
  timestamp?: string;
}

/**
 * What a parser makes of a record: an event to handle, a tombstone (null value) to skip and commit, or a message
 * this consumer has no use for (a type it does not know: the versioning rule says consumers skip those) to skip and
 * commit.
 */
export type ParsedMessage<E> =
  { kind: 'change' | 'message'; event: E } | { kind: 'tombstone' } | { kind: 'skip'; reason: string };

/** Codes of parse failures that mean "dead-letter it" (never retried: the bytes will not change). */
export const MALFORMED_CODES: ReadonlySet<string> = new Set(['MESSAGE_ERR_MALFORMED', 'CDC_ERR_EVENT_MALFORMED']);

export function isMalformedError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && MALFORMED_CODES.has(code);
}
