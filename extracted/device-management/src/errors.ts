import { errorCatalog, fieldsOf, type CodedError, type FieldProblem } from '@warmhouse/shared';

/**
 * Every error code of device management, with the HTTP status the new API answers with and whether retrying
 * can help. Codes, not classes, are compared across package boundaries.
 */
export const DEVICE_ERRORS = {
  /** A request (path, query, header or body) does not match the OpenAPI document; names the field. */
  DEVICE_ERR_VALIDATION: { status: 400, retriable: false, title: 'Request validation failed' },
  /** The request body is not JSON. */
  DEVICE_ERR_MALFORMED_BODY: { status: 400, retriable: false, title: 'Malformed JSON body' },
  /** Ownership is on and the request names no caller (no `X-Strangler-Subject`), or a malformed identity field. */
  DEVICE_ERR_UNAUTHENTICATED: { status: 401, retriable: false, title: 'Authentication required' },
  /** No device with that id (or it is deleted, or it is another caller's). */
  DEVICE_ERR_NOT_FOUND: { status: 404, retriable: false, title: 'Device not found' },
  /** No connect saga with that id. */
  DEVICE_ERR_SAGA_NOT_FOUND: { status: 404, retriable: false, title: 'Saga not found' },
  /** No operation at this path. */
  DEVICE_ERR_NO_SUCH_PATH: { status: 404, retriable: false, title: 'Not found' },
  /** The path exists, the method does not. */
  DEVICE_ERR_METHOD_NOT_ALLOWED: { status: 405, retriable: false, title: 'Method not allowed' },
  /** The request is valid but the device's type does not support it (a setting or command of a sensor). */
  DEVICE_ERR_UNSUPPORTED_FOR_TYPE: { status: 409, retriable: false, title: 'Not supported for this device type' },
  /** The change belongs to the monolith at this stage of the migration (deleting a device that came from it). */
  DEVICE_ERR_OWNED_BY_MONOLITH: { status: 409, retriable: false, title: 'Owned by the monolith' },
  /** The request body is larger than the limit. */
  DEVICE_ERR_BODY_TOO_LARGE: { status: 413, retriable: false, title: 'Request body too large' },
  /** Content-Type is not application/json. */
  DEVICE_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, retriable: false, title: 'Unsupported media type' },
  /** The database could not be reached. */
  DEVICE_ERR_UNAVAILABLE: { status: 503, retriable: true, title: 'Service unavailable' },
  /**
   * A set-based CDC apply met a concurrent writer (serialization failure, deadlock, a row inserted meanwhile): the
   * transaction is rolled back and its changes applied again one by one.
   */
  DEVICE_ERR_SYNC_CONFLICT: { status: 503, retriable: true, title: 'CDC apply conflict' },
  /** A bug. */
  DEVICE_ERR_INTERNAL: { status: 500, retriable: false, title: 'Internal error' },
  /** A domain event does not match its schema (a bug in the producer; never published). */
  DEVICE_ERR_EVENT_INVALID: { status: 500, retriable: false, title: 'Invalid domain event' },
  /** A domain event on the events topic cannot be read by the write-back worker (dead-lettered). */
  DEVICE_ERR_EVENT_UNREADABLE: { status: 422, retriable: false, title: 'Unreadable domain event' },
  /** A version-1 envelope of a type this code does not know yet (a newer producer): consumers skip it. */
  DEVICE_ERR_EVENT_UNKNOWN_TYPE: { status: 422, retriable: false, title: 'Unknown domain event type' },
} as const satisfies Record<string, { status: number; retriable: boolean; title: string }>;

export type DeviceErrorCode = keyof typeof DEVICE_ERRORS;

export type { FieldProblem };
export { fieldsOf };

const catalog = errorCatalog(DEVICE_ERRORS);

/** A coded error with the status and retriability of `code`; `fields` travel to the problem body. */
export const deviceError: (
  code: DeviceErrorCode,
  detail: string,
  options?: { cause?: unknown; fields?: FieldProblem[] },
) => CodedError = catalog.error;

/** True when `err` carries one of our codes. */
export const isDeviceError: (err: unknown) => err is CodedError & { code: DeviceErrorCode } = catalog.is;

/** The problem body answered for a code. */
export const problemOf = catalog.problem;
