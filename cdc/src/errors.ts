import { errorCatalog, type CodedError, type ErrorCatalogEntry } from '@warmhouse/shared';

/**
 * Every error code this package raises. `retriable` says whether trying the same thing again can help;
 * `status` is the HTTP status a service would answer with if the error reached a request.
 */
export const CDC_ERRORS = {
  /** A connector file is not valid JSON, misses a field, has a wrong value or uses an unset variable. */
  CDC_ERR_CONNECTOR_CONFIG: { status: 500, retriable: false },
  /** Kafka Connect's REST API could not be reached (refused, timed out, DNS). */
  CDC_ERR_CONNECT_UNREACHABLE: { status: 503, retriable: true },
  /** Kafka Connect answered 4xx: it refused the request (for example an invalid connector config). */
  CDC_ERR_CONNECT_REJECTED: { status: 502, retriable: false },
  /** Kafka Connect answered 5xx or 409 (rebalance in progress): worth retrying. */
  CDC_ERR_CONNECT_FAILED: { status: 502, retriable: true },
  /** The Connect worker has not loaded the Debezium PostgreSQL connector plugin. */
  CDC_ERR_PLUGIN_MISSING: { status: 500, retriable: false },
  /** The connector or one of its tasks is FAILED (the message carries Connect's trace). */
  CDC_ERR_CONNECTOR_FAILED: { status: 500, retriable: false },
  /** The connector is PAUSED or STOPPED by an operator and will not start by itself. */
  CDC_ERR_CONNECTOR_PAUSED: { status: 500, retriable: false },
  /** The connector did not reach RUNNING with all tasks RUNNING before the deadline. */
  CDC_ERR_CONNECTOR_START_TIMEOUT: { status: 504, retriable: true },
  /** PostgreSQL (the monolith database) could not be reached or refused the login. */
  CDC_ERR_POSTGRES_UNREACHABLE: { status: 503, retriable: true },
  /** A Kafka message is not a Debezium change event we can read; dead-letter it, never retry it. */
  CDC_ERR_EVENT_MALFORMED: { status: 422, retriable: false },
  /** The service's applied CDC positions could not be read from its database (`GET /cdc/applied` answers 503). */
  CDC_ERR_APPLIED_UNAVAILABLE: { status: 503, retriable: true },
} as const satisfies Record<string, ErrorCatalogEntry>;

/** One of the codes in {@link CDC_ERRORS}. */
export type CdcErrorCode = keyof typeof CDC_ERRORS;

const catalog = errorCatalog(CDC_ERRORS);

/** Creates the coded error for `code` with the registry's status and retriability. */
export const cdcError: (
  code: CdcErrorCode,
  message: string,
  options?: { cause?: unknown; details?: Record<string, unknown> },
) => CodedError = catalog.error;

/** True when `err` carries the given code (codes are compared, never classes). */
export const hasCode: (err: unknown, code: CdcErrorCode) => err is CodedError = catalog.has;
