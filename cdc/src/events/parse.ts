import type { SourceMessage } from '@warmhouse/messaging';
import type { z } from 'zod';
import { cdcError } from '../errors';
import { changeEnvelopeSchema, type ChangeOp, type DebeziumSource } from './envelope';
import { parseJsonLossless } from './lossless-json';
import type { Lsn } from './lsn';
import type { TableSpecs } from './tables';

/** The parts of a Kafka message the parser reads (defined with the message conventions in @warmhouse/messaging). */
export type { SourceMessage };

/**
 * One row change captured from PostgreSQL. Apply `c`/`r`/`u` as an upsert of `after`, `d` as a delete of
 * `before`'s key, `t` as "delete every row of `table`"; use {@link positionOf} and {@link isNewer} to make
 * re-delivery harmless.
 */
export interface ChangeEvent<
  Row = Record<string, unknown>,
  Key = Record<string, unknown>,
  Table extends string = string,
> {
  op: ChangeOp;
  /** primary key columns (the Kafka message key); null for truncates and tables without a key */
  key: Key | null;
  /** row before the change: full row for `u`/`d` (REPLICA IDENTITY FULL), null for `c`/`r`/`t` */
  before: Row | null;
  /** row after the change: null for `d`/`t` */
  after: Row | null;
  /** `source.lsn`: WAL position of this change, unique per change; for snapshot reads, the snapshot's position */
  lsn: Lsn;
  /** PostgreSQL transaction id (several changes share it) */
  txId: number | null;
  /** commit time in the source database, ms since epoch (`source.ts_ms`) */
  sourceTsMs: number;
  /** when Debezium processed the change, ms since epoch (envelope `ts_ms`) */
  connectorTsMs: number;
  /** true for rows read by a snapshot (`source.snapshot` is anything but `"false"`) */
  snapshot: boolean;
  /** schema-qualified source table, e.g. `public.heating_systems` */
  table: Table;
  topic: string;
  partition: number;
  /** Kafka offset, a decimal string */
  offset: string;
  /** the whole `source` block, for fields not lifted above (`sequence`, `xmin`, `version`…) */
  source: DebeziumSource;
}

/** A change event typed by the table specs it was parsed with: a union discriminated by `table`. */
export type ChangeEventOf<T extends TableSpecs> = {
  [N in keyof T & string]: ChangeEvent<z.output<T[N]['row']>, z.output<T[N]['key']>, N>;
}[keyof T & string];

/** A null-value record Debezium writes after each delete so log compaction can drop the key. Skip it. */
export interface Tombstone {
  topic: string;
  partition: number;
  offset: string;
  key: unknown;
}

/** What a Kafka message on a Debezium topic turned out to be. */
export type ParsedMessage<E = ChangeEvent> = { kind: 'change'; event: E } | ({ kind: 'tombstone' } & Tombstone);

/**
 * Reads one Debezium message. Returns a change event or a tombstone; throws a non-retriable
 * `CDC_ERR_EVENT_MALFORMED` error whose `details.reason` says what is wrong (dead-letter such messages).
 *
 * With `tables`, the key and the row images are validated and converted by the table's spec, and a message from a
 * table not in `tables` is malformed; without, they are plain JSON objects.
 */
export function parseChangeEvent(message: SourceMessage): ParsedMessage<ChangeEvent>;
export function parseChangeEvent<T extends TableSpecs>(
  message: SourceMessage,
  tables: T,
): ParsedMessage<ChangeEventOf<T>>;
export function parseChangeEvent(
  message: SourceMessage,
  tables?: TableSpecs,
): ParsedMessage<ChangeEvent<unknown, unknown>> {
  const where = { topic: message.topic, partition: message.partition, offset: message.offset };
  const fail = (reason: string): never => {
    throw cdcError('CDC_ERR_EVENT_MALFORMED', `${message.topic}[${message.partition}]@${message.offset}: ${reason}`, {
      details: { reason, ...where },
    });
  };

  const key = message.key == null || message.key.length === 0 ? null : readJson(message.key, 'key', fail);
  if (message.value == null) return { kind: 'tombstone', ...where, key };
  if (message.value.length === 0) return fail('value is empty (neither a change event nor a tombstone)');

  const envelope = changeEnvelopeSchema.safeParse(unwrapPayload(readJson(message.value, 'value', fail)));
  if (!envelope.success) return fail(describeIssues(envelope.error.issues));
  const { op, before, after, source, ts_ms } = envelope.data;
  const table = `${source.schema}.${source.table}`;

  const spec = tables?.[table];
  if (tables && !spec) return fail(`table ${table} is not one of ${Object.keys(tables).join(', ')}`);
  const read = (schema: z.ZodType | undefined, value: unknown, field: string): unknown => {
    if (value == null || !schema) return value ?? null;
    const result = schema.safeParse(value);
    return result.success ? result.data : fail(describeIssues(result.error.issues, field));
  };

  return {
    kind: 'change',
    event: {
      op,
      key: read(spec?.key, key, 'key'),
      before: read(spec?.row, before, 'before'),
      after: read(spec?.row, after, 'after'),
      lsn: source.lsn,
      txId: source.txId ?? null,
      sourceTsMs: source.ts_ms,
      connectorTsMs: ts_ms,
      snapshot: source.snapshot != null && source.snapshot !== 'false',
      table,
      ...where,
      source,
    },
  };
}

function readJson(raw: Buffer | string, part: 'key' | 'value', fail: (reason: string) => never): unknown {
  try {
    return parseJsonLossless(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch (err) {
    return fail(`${part} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Tolerates a worker that embeds schemas (`{schema, payload}`), which our connector config turns off. */
function unwrapPayload(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && 'schema' in value && 'payload' in value) {
    return Object.keys(value).length === 2 ? (value as { payload: unknown }).payload : value;
  }
  return value;
}

function describeIssues(issues: readonly z.core.$ZodIssue[], prefix?: string): string {
  return issues
    .map((issue) => `${[prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}
