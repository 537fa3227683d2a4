import { errorCatalog, fieldsOf, type CodedError, type FieldProblem } from '@warmhouse/shared';

/**
 * Every error code of the telemetry service, with the HTTP status the new API answers with and whether retrying
 * can help. Codes, not classes, are compared across package boundaries.
 */
export const TELEMETRY_ERRORS = {
  /** A request (path, query, header or body) does not match the OpenAPI document or a domain rule; names the field. */
  TELEMETRY_ERR_VALIDATION: { status: 400, retriable: false, title: 'Request validation failed' },
  /** The request body is not JSON. */
  TELEMETRY_ERR_MALFORMED_BODY: { status: 400, retriable: false, title: 'Malformed JSON body' },
  /** A pagination cursor that this service did not issue (or for another query). */
  TELEMETRY_ERR_BAD_CURSOR: { status: 400, retriable: false, title: 'Invalid cursor' },
  /** Ownership is on and the request names no caller (no `X-Strangler-Subject`), or a malformed identity field. */
  TELEMETRY_ERR_UNAUTHENTICATED: { status: 401, retriable: false, title: 'Authentication required' },
  /** The caller is known but lacks the scope of the operation (ingest needs `telemetry:ingest`). */
  TELEMETRY_ERR_FORBIDDEN: { status: 403, retriable: false, title: 'Insufficient scope' },
  /** No reading has ever been stored for this device (or device and metric), or the device is another caller's. */
  TELEMETRY_ERR_DEVICE_UNKNOWN: { status: 404, retriable: false, title: 'Unknown device' },
  /** No reading has ever been stored for a device of this house. */
  TELEMETRY_ERR_HOUSE_UNKNOWN: { status: 404, retriable: false, title: 'Unknown house' },
  /** No operation at this path. */
  TELEMETRY_ERR_NO_SUCH_PATH: { status: 404, retriable: false, title: 'Not found' },
  /** The path exists, the method does not. */
  TELEMETRY_ERR_METHOD_NOT_ALLOWED: { status: 405, retriable: false, title: 'Method not allowed' },
  /** More readings in one batch than the limit, or a body larger than the byte limit. */
  TELEMETRY_ERR_BATCH_TOO_LARGE: { status: 413, retriable: false, title: 'Batch too large' },
  /**
   * A reading of a device the connect-device saga provisioned that telemetry does not take: the device was
   * deprovisioned (its connection undone), or the metric is not one it was provisioned with. Names the field.
   */
  TELEMETRY_ERR_NOT_PROVISIONED: { status: 422, retriable: false, title: 'Reading not provisioned' },
  /** Content-Type is not application/json. */
  TELEMETRY_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, retriable: false, title: 'Unsupported media type' },
  /** Kafka did not acknowledge the readings (acks=all): nothing was accepted; retry with the same idempotency keys. */
  TELEMETRY_ERR_COMMAND_LOG_UNAVAILABLE: { status: 503, retriable: true, title: 'Command log unavailable' },
  /** The read-model database could not be reached. */
  TELEMETRY_ERR_UNAVAILABLE: { status: 503, retriable: true, title: 'Service unavailable' },
  /** A bug. */
  TELEMETRY_ERR_INTERNAL: { status: 500, retriable: false, title: 'Internal error' },
  /** A record on the command log is not a reading this projector can read (dead-lettered, counted, skipped). */
  TELEMETRY_ERR_COMMAND_MALFORMED: { status: 422, retriable: false, title: 'Malformed command' },
  /** The rebuilt read models differ from the live ones. */
  TELEMETRY_ERR_REBUILD_MISMATCH: { status: 500, retriable: false, title: 'Rebuild differs from live' },
} as const satisfies Record<string, { status: number; retriable: boolean; title: string }>;

export type TelemetryErrorCode = keyof typeof TELEMETRY_ERRORS;

export type { FieldProblem };
export { fieldsOf };

const catalog = errorCatalog(TELEMETRY_ERRORS);

/** A coded error with the status and retriability of `code`; `fields` travel to the problem body. */
export const telemetryError: (
  code: TelemetryErrorCode,
  detail: string,
  options?: { cause?: unknown; fields?: FieldProblem[] },
) => CodedError = catalog.error;

/** True when `err` carries one of our codes. */
export const isTelemetryError: (err: unknown) => err is CodedError & { code: TelemetryErrorCode } = catalog.is;

/** The problem body answered for a code. */
export const problemOf = catalog.problem;
