import { z } from 'zod';
import { safeInteger } from './envelope';

/** How to read the key and the row images of one captured table. */
export interface TableSpec<Key = unknown, Row = unknown> {
  key: z.ZodType<Key>;
  row: z.ZodType<Row>;
}

/** Table specs by schema-qualified table name (`public.heating_systems`). */
export type TableSpecs = Readonly<Record<string, TableSpec>>;

/** Debezium `MicroTimestamp` (a `TIMESTAMP` without time zone, µs since epoch of its wall-clock reading as UTC). */
const microTimestamp = safeInteger.transform((us) => new Date(Math.floor(us / 1000)));

/** Debezium `ZonedTimestamp` (a `TIMESTAMPTZ`, ISO-8601 in UTC). */
const zonedTimestamp = z
  .string()
  .transform((s) => new Date(s))
  .refine((d) => !Number.isNaN(d.getTime()), 'not an ISO-8601 timestamp');

const idKey = z.object({ id: safeInteger });

/** `public.heating_systems` row (all columns NOT NULL in the monolith). */
export const heatingSystemRow = z.object({
  id: safeInteger,
  is_on: z.boolean(),
  target_temperature: z.number(),
  current_temperature: z.number(),
});
export type HeatingSystemRow = z.output<typeof heatingSystemRow>;

/**
 * `public.temperature_sensors` row. `last_updated` arrives as µs since epoch and becomes a `Date`: sub-millisecond
 * digits are dropped, and the wall-clock reading is taken as UTC (the column has no time zone; the monolith
 * writes UTC).
 */
export const temperatureSensorRow = z.object({
  id: safeInteger,
  current_temperature: z.number(),
  last_updated: microTimestamp,
});
export type TemperatureSensorRow = z.output<typeof temperatureSensorRow>;

/** `public.cdc_heartbeat` row, written by the connector's heartbeat action query. */
export const cdcHeartbeatRow = z.object({ id: safeInteger, beat_at: zonedTimestamp });
export type CdcHeartbeatRow = z.output<typeof cdcHeartbeatRow>;

/** The monolith tables captured by the `monolith-heating` connector. */
export const monolithTables = {
  'public.heating_systems': { key: idKey, row: heatingSystemRow },
  'public.temperature_sensors': { key: idKey, row: temperatureSensorRow },
  'public.cdc_heartbeat': { key: idKey, row: cdcHeartbeatRow },
} as const satisfies TableSpecs;
