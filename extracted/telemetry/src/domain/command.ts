import {
  DEVICE_ID_PATTERN,
  HOUSE_ID_PATTERN,
  KEY_PATTERN,
  METRIC_PATTERN,
  UNIT_PATTERN,
  type Reading,
  type ReadingInput,
  type ReadingSource,
} from './reading';

/**
 * Version 1 of a command-log record: the readings of one device from one request (or one change event), in the
 * order they were sent. The record key is the device id, so a device's records stay in order in one partition.
 * One record per device rather than per reading: the per-record cost of the Kafka client dominated ingest.
 */
export interface ReadingsCommandV1 {
  v: 1;
  deviceId: string;
  source: ReadingSource;
  /** measuredAt: ISO-8601 UTC with milliseconds */
  readings: Array<Omit<ReadingInput, 'deviceId'>>;
}

/** Content type header on every command-log record. */
export const COMMAND_CONTENT_TYPE = 'application/vnd.warmhouse.telemetry.readings.v1+json';

/** One record per device, devices in order of first appearance, each device's readings in request order. */
export function encodeCommands(readings: readonly Reading[]): Array<{ key: string; value: string }> {
  const byDevice = new Map<string, Reading[]>();
  for (const r of readings) {
    const list = byDevice.get(r.deviceId);
    if (list) list.push(r);
    else byDevice.set(r.deviceId, [r]);
  }
  const records: Array<{ key: string; value: string }> = [];
  for (const [deviceId, list] of byDevice) {
    // one record has one source; a mixed list (never sent by our producers) becomes one record per source run
    let start = 0;
    for (let i = 1; i <= list.length; i++) {
      if (i < list.length && list[i]!.source === list[start]!.source) continue;
      const command: ReadingsCommandV1 = {
        v: 1,
        deviceId,
        source: list[start]!.source,
        readings: list.slice(start, i).map((r) => ({
          metric: r.metric,
          value: r.value,
          unit: r.unit,
          measuredAt: r.measuredAt.toISOString(),
          ...(r.idempotencyKey !== undefined ? { idempotencyKey: r.idempotencyKey } : {}),
          ...(r.houseId !== undefined ? { houseId: r.houseId } : {}),
        })),
      };
      records.push({ key: deviceId, value: JSON.stringify(command) });
      start = i;
    }
  }
  return records;
}

export type Decoded = { ok: true; readings: Reading[] } | { ok: false; reason: string };

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const MAX_READINGS_PER_RECORD = 100_000;

/**
 * Reads one command-log record. Never throws: a record that is not a valid v1 record, or whose key is not its
 * device id (it would sit in the wrong partition and break per-device order), comes back with the reason, to be
 * dead-lettered whole. Checks everything the read models rely on; the time window is not re-checked (replays are
 * old by nature).
 */
export function decodeCommand(key: Buffer | string | null, value: Buffer | string | null): Decoded {
  if (value === null || value.length === 0) return { ok: false, reason: 'empty value' };
  let raw: unknown;
  try {
    raw = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `value is not JSON: ${(err as Error).message}` };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { ok: false, reason: 'value is not an object' };
  const c = raw as Record<string, unknown>;
  const fail = (field: string, rule: string): Decoded => ({ ok: false, reason: `${field}: ${rule}` });
  if (c.v !== 1) return fail('v', `unsupported version ${JSON.stringify(c.v)}`);
  if (typeof c.deviceId !== 'string' || !DEVICE_ID_PATTERN.test(c.deviceId)) return fail('deviceId', 'invalid');
  if (c.source !== 'api' && c.source !== 'cdc') return fail('source', 'must be api or cdc');
  const keyText = key === null ? null : typeof key === 'string' ? key : key.toString('utf8');
  if (keyText !== c.deviceId) return fail('key', `record key ${JSON.stringify(keyText)} is not the device id`);
  if (!Array.isArray(c.readings) || c.readings.length === 0 || c.readings.length > MAX_READINGS_PER_RECORD)
    return fail('readings', 'must be a non-empty array');
  const readings: Reading[] = [];
  for (let i = 0; i < c.readings.length; i++) {
    const r = c.readings[i] as Record<string, unknown> | null;
    const at = `readings[${i}]`;
    if (typeof r !== 'object' || r === null) return fail(at, 'not an object');
    if (typeof r.metric !== 'string' || !METRIC_PATTERN.test(r.metric)) return fail(`${at}.metric`, 'invalid');
    if (typeof r.value !== 'number' || !Number.isFinite(r.value)) return fail(`${at}.value`, 'not a finite number');
    if (typeof r.unit !== 'string' || !UNIT_PATTERN.test(r.unit)) return fail(`${at}.unit`, 'invalid');
    if (typeof r.measuredAt !== 'string' || !ISO_UTC.test(r.measuredAt))
      return fail(`${at}.measuredAt`, 'not ISO-8601 UTC');
    const measuredAt = new Date(r.measuredAt);
    if (Number.isNaN(measuredAt.getTime())) return fail(`${at}.measuredAt`, 'not a real instant');
    if (r.idempotencyKey !== undefined && (typeof r.idempotencyKey !== 'string' || !KEY_PATTERN.test(r.idempotencyKey)))
      return fail(`${at}.idempotencyKey`, 'invalid');
    if (r.houseId !== undefined && (typeof r.houseId !== 'string' || !HOUSE_ID_PATTERN.test(r.houseId)))
      return fail(`${at}.houseId`, 'invalid');
    readings.push({
      deviceId: c.deviceId,
      metric: r.metric,
      value: r.value,
      unit: r.unit,
      measuredAt,
      ...(r.idempotencyKey !== undefined ? { idempotencyKey: r.idempotencyKey as string } : {}),
      ...(r.houseId !== undefined ? { houseId: r.houseId as string } : {}),
      source: c.source,
    });
  }
  return { ok: true, readings };
}
