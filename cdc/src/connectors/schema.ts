import { z } from 'zod';

export const DEBEZIUM_POSTGRES_CLASS = 'io.debezium.connector.postgresql.PostgresConnector';
export const JSON_CONVERTER_CLASS = 'org.apache.kafka.connect.json.JsonConverter';

/** Debezium PostgreSQL `snapshot.mode` values (3.x; `never` is the deprecated name of `no_data`). */
export const SNAPSHOT_MODES = [
  'initial',
  'always',
  'initial_only',
  'no_data',
  'never',
  'when_needed',
  'configuration_based',
  'custom',
] as const;

const required = z.string().min(1, 'must not be empty');
const wholeNumber = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d+$/, { error: 'must be a whole number written as a string', abort: true })
    .refine((v) => Number(v) >= min && Number(v) <= max, `must be between ${min} and ${max}`);
const flag = z.enum(['true', 'false']);

/**
 * The Kafka Connect config of a Debezium PostgreSQL connector as this project runs it: settings the event parser
 * and the database setup depend on are required and pinned; other Debezium settings pass through as strings.
 */
export const connectorConfigSchema = z
  .object({
    'connector.class': z.literal(DEBEZIUM_POSTGRES_CLASS),
    'tasks.max': z.literal('1', 'must be "1": the PostgreSQL connector runs a single task'),
    'database.hostname': required,
    'database.port': wholeNumber(1, 65535),
    'database.user': required,
    'database.password': z.string(),
    'database.dbname': required,
    'topic.prefix': z.string().regex(/^[A-Za-z0-9._-]+$/, 'may only contain letters, digits, ".", "_" and "-"'),
    'plugin.name': z.literal('pgoutput', 'must be "pgoutput" (decoderbufs needs a server plugin we do not install)'),
    'slot.name': z.string().regex(/^[a-z0-9_]{1,63}$/, 'must be 1-63 lower-case letters, digits or "_"'),
    'publication.name': z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier'),
    'publication.autocreate.mode': z.enum(['disabled', 'filtered', 'all_tables', 'no_tables']),
    'snapshot.mode': z.enum(SNAPSHOT_MODES),
    'table.include.list': required,
    'key.converter': z.literal(JSON_CONVERTER_CLASS),
    'key.converter.schemas.enable': z.literal('false', 'must be "false": consumers read schemaless JSON'),
    'value.converter': z.literal(JSON_CONVERTER_CLASS),
    'value.converter.schemas.enable': z.literal('false', 'must be "false": consumers read schemaless JSON'),
    'decimal.handling.mode': z.enum(['precise', 'double', 'string']).optional(),
    'time.precision.mode': z.enum(['adaptive', 'adaptive_time_microseconds', 'connect', 'isostring']).optional(),
    'tombstones.on.delete': flag.optional(),
    'heartbeat.interval.ms': wholeNumber(0).optional(),
    'heartbeat.action.query': required.optional(),
    'poll.interval.ms': wholeNumber(1).optional(),
    'max.batch.size': wholeNumber(1).optional(),
    'max.queue.size': wholeNumber(2).optional(),
  })
  .catchall(z.string('must be a string (Kafka Connect configs are string maps)'))
  .superRefine((c, ctx) => {
    if (c['heartbeat.action.query'] && Number(c['heartbeat.interval.ms'] ?? '0') <= 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['heartbeat.interval.ms'],
        message: 'must be above 0 when heartbeat.action.query is set',
      });
    }
    if (c['max.queue.size'] && Number(c['max.queue.size']) <= Number(c['max.batch.size'] ?? '2048')) {
      ctx.addIssue({ code: 'custom', path: ['max.queue.size'], message: 'must be larger than max.batch.size' });
    }
  });

/** A validated connector config: the pinned settings typed, any other Debezium setting as a string. */
export type ConnectorConfig = z.output<typeof connectorConfigSchema>;

/** A connector file: `{ "name": …, "config": {…} }`. */
export const connectorFileSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'may only contain letters, digits, ".", "_" and "-"'),
  config: connectorConfigSchema,
});

/** A validated connector, placeholders filled in, ready to PUT to Kafka Connect. */
export interface ConnectorDefinition {
  name: string;
  config: Readonly<ConnectorConfig>;
  /** the file it was loaded from */
  file: string;
}
