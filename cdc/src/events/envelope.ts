import { z } from 'zod';

const jsonInteger = z.union([z.number().int(), z.bigint()], { error: 'expected an integer' });

/** An int64 that arrives as a JSON number (or as `bigint` from the lossless parser), kept exact as `bigint`. */
const int64 = jsonInteger.transform((v) => BigInt(v));

/** A JSON integer that must fit a `number` exactly; larger values are rejected instead of being rounded. */
export const safeInteger = jsonInteger.transform((v, ctx) => {
  if (typeof v === 'number') return v;
  ctx.addIssue({ code: 'custom', message: `integer ${v} exceeds 2^53 and cannot be represented as a number` });
  return z.NEVER;
});

/**
 * Debezium's `source` block for PostgreSQL (JSON converter, no schemas). Unknown fields are dropped;
 * fields Debezium always writes are required.
 */
export const debeziumSourceSchema = z.object({
  version: z.string().optional(),
  connector: z.string().optional(),
  /** the connector's `topic.prefix` */
  name: z.string().optional(),
  /** commit time of the transaction in the source database, ms since epoch */
  ts_ms: safeInteger,
  /** `"true"`, `"first"`, `"last"`, `"incremental"`, `"last_in_data_collection"`… or `"false"`: a string, not a boolean */
  snapshot: z.string().nullish(),
  db: z.string(),
  schema: z.string(),
  table: z.string(),
  /** PostgreSQL transaction id */
  txId: safeInteger.nullish(),
  /** WAL position of this change (for snapshot reads: the snapshot's position, shared by all rows) */
  lsn: int64,
  xmin: int64.nullish(),
  /** JSON text `["<last commit LSN>","<this change's LSN>"]`, each possibly null */
  sequence: z.string().nullish(),
});

/** The parsed `source` block (LSNs as `bigint`). */
export type DebeziumSource = z.output<typeof debeziumSourceSchema>;

/** Debezium operation: create, update, delete, snapshot read, truncate. */
export const changeOpSchema = z.enum(['c', 'u', 'd', 'r', 't']);
/** `c` create, `u` update, `d` delete, `r` snapshot read, `t` truncate. */
export type ChangeOp = z.output<typeof changeOpSchema>;

const rowImage = z.record(z.string(), z.unknown()).nullish();

/** The change event envelope (the Kafka message value) without embedded schemas. */
export const changeEnvelopeSchema = z
  .object({
    before: rowImage,
    after: rowImage,
    source: debeziumSourceSchema,
    op: changeOpSchema,
    /** when Debezium processed the change, ms since epoch */
    ts_ms: safeInteger,
  })
  .superRefine((e, ctx) => {
    const problem = imageProblem(e.op, e.before != null, e.after != null);
    if (problem) ctx.addIssue({ code: 'custom', path: [problem.field], message: problem.message });
  });

/** A validated envelope, before row images are typed by a table spec. */
export type ChangeEnvelope = z.output<typeof changeEnvelopeSchema>;

function imageProblem(
  op: ChangeOp,
  hasBefore: boolean,
  hasAfter: boolean,
): { field: 'before' | 'after'; message: string } | undefined {
  switch (op) {
    case 'c':
    case 'r':
      if (!hasAfter) return { field: 'after', message: `op "${op}" needs an after image` };
      if (hasBefore) return { field: 'before', message: `op "${op}" must not have a before image` };
      return undefined;
    case 'u':
      return hasAfter ? undefined : { field: 'after', message: 'op "u" needs an after image' };
    case 'd':
      if (!hasBefore) return { field: 'before', message: 'op "d" needs a before image' };
      return hasAfter ? { field: 'after', message: 'op "d" must not have an after image' } : undefined;
    case 't':
      if (hasBefore) return { field: 'before', message: 'op "t" carries no row' };
      return hasAfter ? { field: 'after', message: 'op "t" carries no row' } : undefined;
  }
}
