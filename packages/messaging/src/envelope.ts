import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { messagingError } from './errors';

/**
 * The envelope every event, command and reply published by our services carries at the top level of its JSON
 * value, next to its own fields. (CDC topics are Debezium's format and have none.)
 *
 * Versioning rule: `schemaVersion` is the message's major version. Within a version only additive changes are
 * allowed — a new optional field, a new `type`, a new enum value that consumers may skip — so every consumer of
 * that version keeps working (consumers ignore unknown fields and unknown types). Removing, renaming or retyping
 * a field, or making an optional one required, is a new version: publish it under the new number (a new topic
 * `<name>.v<N>` when old consumers must not see it) while consumers migrate.
 */
export const envelopeShape = {
  eventId: z.uuid().describe('unique per message; consumers de-duplicate on it'),
  type: z
    .string()
    .regex(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/)
    .describe('what happened or is asked, `<aggregate>.<verb-or-fact>` in kebab case'),
  schemaVersion: z.int().positive().describe('major version of this message type; additive changes keep it'),
  occurredAt: z.iso.datetime({ offset: true }).describe('when it happened (committed), ISO-8601'),
  requestId: z
    .string()
    .nullable()
    .describe('X-Request-Id of the HTTP request (or saga) that caused it; null when nothing did'),
  source: z.string().min(1).describe('the service that produced it, e.g. device-management'),
};

export const envelopeSchema = z.object(envelopeShape);
export type Envelope = z.output<typeof envelopeSchema>;

/**
 * The zod schema of one message type: the envelope with `type` and `schemaVersion` fixed, plus the message's own
 * fields (usually a `data` object). Build its JSON schema for AsyncAPI with `z.toJSONSchema(schema, { target:
 * 'draft-7' })`.
 */
export function messageSchema<T extends string, V extends number, S extends z.ZodRawShape>(
  type: T,
  version: V,
  fields: S,
) {
  return z.object({ ...envelopeShape, type: z.literal(type), schemaVersion: z.literal(version), ...fields });
}

/** A fresh envelope: new event id, now, the request id if any. */
export function createEnvelope<T extends string, V extends number>(opts: {
  type: T;
  schemaVersion: V;
  source: string;
  requestId?: string | null;
  eventId?: string;
  now?: Date;
}): Envelope & { type: T; schemaVersion: V } {
  return {
    eventId: opts.eventId ?? randomUUID(),
    type: opts.type,
    schemaVersion: opts.schemaVersion,
    occurredAt: (opts.now ?? new Date()).toISOString(),
    requestId: opts.requestId ?? null,
    source: opts.source,
  };
}

/** Validates a message about to be published; a message that does not match its schema is a bug and never leaves. */
export function checkedMessage<S extends z.ZodType>(schema: S, message: unknown): z.output<S> {
  const result = schema.safeParse(message);
  if (!result.success)
    throw messagingError('MESSAGE_ERR_INVALID', `message does not match its schema: ${result.error.message}`);
  return result.data;
}

/**
 * Reads a message value (JSON) with its schema; throws MESSAGE_ERR_MALFORMED (dead-letter it) when it is not JSON
 * or does not match. Unknown fields are dropped, as the versioning rule asks of consumers.
 */
export function parseMessage<S extends z.ZodType>(schema: S, raw: Buffer | string | null): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(raw === null ? 'null' : raw.toString());
  } catch (err) {
    throw messagingError('MESSAGE_ERR_MALFORMED', `not JSON: ${(err as Error).message}`, {
      cause: err,
      details: { reason: `not JSON: ${(err as Error).message}` },
    });
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const reason = result.error.issues.map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`).join('; ');
    throw messagingError('MESSAGE_ERR_MALFORMED', reason, { details: { reason } });
  }
  return result.data;
}
