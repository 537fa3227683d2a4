import type { IHeaders, Message } from 'kafkajs';
import { DEAD_LETTER_SUFFIX } from '../topics';
import type { SourceMessage } from './message';

/** Why a message went to the dead-letter topic. */
export type DeadLetterReason = 'malformed' | 'handler_rejected';

/** Header names on dead-lettered messages. */
export const DLQ_HEADERS = {
  reason: 'x-dlq-reason',
  error: 'x-dlq-error',
  errorCode: 'x-dlq-error-code',
  topic: 'x-dlq-original-topic',
  partition: 'x-dlq-original-partition',
  offset: 'x-dlq-original-offset',
  group: 'x-dlq-consumer-group',
  failedAt: 'x-dlq-failed-at',
} as const;

const MAX_ERROR_TEXT = 4_096;

/** `<topic>.dlq`, the default dead-letter topic of a source topic. */
export const defaultDeadLetterTopic = (topic: string): string => `${topic}${DEAD_LETTER_SUFFIX}`;

/**
 * The dead-letter copy of `message`: original key, value and headers byte for byte (so it can be replayed), plus
 * headers saying why and where it came from.
 */
export function deadLetterMessage(
  message: SourceMessage,
  reason: DeadLetterReason,
  error: unknown,
  groupId: string,
  now: Date = new Date(),
): Message {
  const code = (error as { code?: unknown } | null)?.code;
  const detail = (error as { options?: { details?: { reason?: unknown } } } | null)?.options?.details?.reason;
  const errorText = (error as { message?: unknown } | null)?.message;
  const text = typeof detail === 'string' ? detail : typeof errorText === 'string' ? errorText : String(error);
  const headers: IHeaders = {
    ...message.headers,
    [DLQ_HEADERS.reason]: reason,
    [DLQ_HEADERS.error]: text.slice(0, MAX_ERROR_TEXT),
    [DLQ_HEADERS.topic]: message.topic,
    [DLQ_HEADERS.partition]: String(message.partition),
    [DLQ_HEADERS.offset]: message.offset,
    [DLQ_HEADERS.group]: groupId,
    [DLQ_HEADERS.failedAt]: now.toISOString(),
    ...(typeof code === 'string' ? { [DLQ_HEADERS.errorCode]: code } : {}),
  };
  return { key: message.key, value: message.value, headers };
}
