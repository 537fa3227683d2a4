import type { FieldProblem } from '../errors';

/** Where a reading came from: the new API, or the monolith's current_temperature columns through CDC. */
export type ReadingSource = 'api' | 'cdc';

/** One measurement of one metric of one device. */
export interface Reading {
  deviceId: string;
  /** lower-case dotted name (`temperature`, `power.heater`); see {@link METRIC_PATTERN} */
  metric: string;
  /** finite */
  value: number;
  /** SenML unit symbol (RFC 8428), e.g. `Cel`, `%RH`, `W` */
  unit: string;
  /** millisecond resolution */
  measuredAt: Date;
  /** de-duplication key chosen by the sender, unique per device */
  idempotencyKey?: string;
  /** house the device is in, as the sender knows it */
  houseId?: string;
  source: ReadingSource;
}

/** Device ids are opaque to telemetry; legacy devices are `legacy-heating-<id>` and `legacy-sensor-<id>`. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** Metrics are an open set of lower-case dotted names (up to four segments), so new device types need no release. */
export const METRIC_PATTERN = /^[a-z][a-z0-9_]{0,31}(\.[a-z][a-z0-9_]{0,31}){0,3}$/;
export const UNIT_PATTERN = /^[A-Za-z0-9%/._-]{1,16}$/;
export const KEY_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const HOUSE_ID_PATTERN = /^[A-Za-z0-9._:-]{1,100}$/;

/**
 * Well-known metrics: their unit is fixed, so every series of them can be compared and rolled up across devices,
 * and physically impossible values are refused. Other metrics that match the pattern are accepted with any unit.
 */
export const KNOWN_METRICS: Readonly<Record<string, { unit: string; min?: number; max?: number }>> = Object.freeze({
  temperature: { unit: 'Cel', min: -273.15 },
  target_temperature: { unit: 'Cel', min: -273.15 },
  humidity: { unit: '%RH', min: 0, max: 100 },
  power: { unit: 'W' },
  energy: { unit: 'Wh', min: 0 },
  illuminance: { unit: 'lx', min: 0 },
  co2: { unit: 'ppm', min: 0 },
  pressure: { unit: 'Pa', min: 0 },
  battery: { unit: '%', min: 0, max: 100 },
});

/** The window a new reading's measuredAt must fall in, relative to the time it arrives. */
export interface TimeWindow {
  maxAgeMs: number;
  maxFutureMs: number;
}

/** What a client sends for one reading (after JSON schema validation, types are right but rules are unchecked). */
export interface ReadingInput {
  deviceId: string;
  metric: string;
  value: number;
  unit: string;
  measuredAt: string;
  idempotencyKey?: string;
  houseId?: string;
}

/**
 * The rules a JSON schema cannot express: a finite value (JSON.parse turns 1e999 into Infinity), a real instant
 * inside the time window, the unit and range of well-known metrics. Returns the readings or every problem at once.
 */
export function checkReadings(
  inputs: readonly ReadingInput[],
  fieldOf: (index: number, name: keyof ReadingInput) => string,
  now: Date,
  window: TimeWindow,
): { readings: Reading[]; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const readings: Reading[] = [];
  const oldest = now.getTime() - window.maxAgeMs;
  const newest = now.getTime() + window.maxFutureMs;
  inputs.forEach((input, i) => {
    const bad = (name: keyof ReadingInput, message: string) =>
      problems.push({ in: 'body', field: fieldOf(i, name), message });
    const before = problems.length;
    if (typeof input.value !== 'number' || !Number.isFinite(input.value)) bad('value', 'must be a finite number');
    const measuredAt = parseInstant(input.measuredAt);
    if (!measuredAt) bad('measuredAt', 'must be an RFC 3339 date-time with a time zone, e.g. 2026-01-01T12:00:00Z');
    else if (measuredAt.getTime() < oldest)
      bad('measuredAt', `is older than the accepted window (${new Date(oldest).toISOString()} or later)`);
    else if (measuredAt.getTime() > newest)
      bad(
        'measuredAt',
        `is in the future beyond the accepted clock skew (${new Date(newest).toISOString()} or earlier)`,
      );
    const known = KNOWN_METRICS[input.metric];
    if (known) {
      if (input.unit !== known.unit) bad('unit', `must be ${JSON.stringify(known.unit)} for metric ${input.metric}`);
      if (Number.isFinite(input.value)) {
        if (known.min !== undefined && input.value < known.min)
          bad('value', `must be >= ${known.min} for metric ${input.metric}`);
        if (known.max !== undefined && input.value > known.max)
          bad('value', `must be <= ${known.max} for metric ${input.metric}`);
      }
    }
    if (problems.length === before && measuredAt) {
      readings.push({
        deviceId: input.deviceId,
        metric: input.metric,
        value: input.value,
        unit: input.unit,
        measuredAt,
        ...(input.idempotencyKey !== undefined ? { idempotencyKey: input.idempotencyKey } : {}),
        ...(input.houseId !== undefined ? { houseId: input.houseId } : {}),
        source: 'api',
      });
    }
  });
  return { readings, problems };
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** An RFC 3339 date-time with a zone offset (no local times: they are ambiguous); undefined if not a real instant. */
export function parseInstant(text: string): Date | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const y = +m[1]!;
  const mo = +m[2]!;
  const d = +m[3]!;
  if (mo < 1 || mo > 12 || d < 1 || +m[4]! > 23 || +m[5]! > 59 || +m[6]! > 59) return undefined;
  // rejects 2026-02-30 and friends, which Date would roll over
  const leap = mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > DAYS[mo - 1]! + (leap ? 1 : 0)) return undefined;
  const date = new Date(text.length > 40 ? '' : text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
