import type { IHeaders } from 'kafkajs';

/**
 * Kafka header names every producer here sets (lower case; values UTF-8 text). The same facts are in the
 * envelope; headers let routers, the DLQ tooling and consumers of foreign formats see them without parsing.
 */
export const MESSAGE_HEADERS = {
  /** X-Request-Id of the HTTP request (or saga step) that caused the message; absent when nothing did */
  requestId: 'x-request-id',
  /** the envelope's eventId: consumers de-duplicate on it */
  eventId: 'event-id',
  /** the envelope's type, e.g. `device.settings-changed` */
  eventType: 'event-type',
  /** the envelope's schemaVersion (major version; see VERSIONING) */
  schemaVersion: 'schema-version',
  /** the producing service, e.g. `device-management` */
  source: 'source',
  /** media type of the value when it is not an envelope (e.g. the telemetry command log) */
  contentType: 'content-type',
} as const;

/** Kafka headers as plain lower-case text (first value of a repeated header). */
export function headerText(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[name.toLowerCase()] = first.toString();
  }
  return out;
}
