import { errorCatalog, type CodedError, type ErrorCatalogEntry } from '@warmhouse/shared';

/** Error codes of this package; `retriable` says whether trying again can help. */
export const MESSAGING_ERRORS = {
  /** A record is not a message of the expected schema (not JSON, wrong envelope, unknown version): dead-letter it. */
  MESSAGE_ERR_MALFORMED: { status: 422, retriable: false },
  /** A message about to be published does not match its own schema: a bug; it never leaves the process. */
  MESSAGE_ERR_INVALID: { status: 500, retriable: false },
  /**
   * The producer resolved a send without an acknowledgement for every partition it was given (kafkajs 2.2.4 drops a
   * partition whose leader moved, during the send, to a broker that had already answered): nothing may be counted as
   * acknowledged; send again (at least once, consumers de-duplicate on the event id).
   */
  MESSAGE_ERR_SEND_INCOMPLETE: { status: 503, retriable: true },
} as const satisfies Record<string, ErrorCatalogEntry>;

export type MessagingErrorCode = keyof typeof MESSAGING_ERRORS;

/** Creates the coded error for `code` with the registry's status and retriability. */
export const messagingError: (
  code: MessagingErrorCode,
  message: string,
  options?: { cause?: unknown; details?: Record<string, unknown> },
) => CodedError = errorCatalog(MESSAGING_ERRORS).error;
