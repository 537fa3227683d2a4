import { decodeCommand, encodeCommands } from './command';
import type { Reading } from './reading';

const reading = (deviceId: string, i: number, extra: Partial<Reading> = {}): Reading => ({
  deviceId,
  metric: 'temperature',
  value: 20 + i / 4,
  unit: 'Cel',
  measuredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i, 123)),
  source: 'api',
  ...extra,
});

describe('command-log records', () => {
  it('hold one device each, keyed by it, readings in request order, and round-trip', () => {
    const readings = [
      reading('a', 1, { idempotencyKey: 'k-1', houseId: 'h' }),
      reading('b', 2),
      reading('a', 3, { metric: 'humidity', unit: '%RH' }),
    ];
    const records = encodeCommands(readings);
    expect(records.map((r) => r.key)).toEqual(['a', 'b']);
    expect(decodeCommand(Buffer.from(records[0]!.key), Buffer.from(records[0]!.value))).toEqual({
      ok: true,
      readings: [readings[0], readings[2]],
    });
    expect(decodeCommand(records[1]!.key, records[1]!.value)).toEqual({ ok: true, readings: [readings[1]] });
  });

  it('split a device whose readings come from two sources', () => {
    const records = encodeCommands([reading('a', 1), reading('a', 2, { source: 'cdc' })]);
    expect(records.map((r) => (JSON.parse(r.value) as { source: string }).source)).toEqual(['api', 'cdc']);
  });

  const good = JSON.parse(encodeCommands([reading('d-1', 1)])[0]!.value) as Record<string, unknown> & {
    readings: Array<Record<string, unknown>>;
  };
  const withReading = (patch: Record<string, unknown>) =>
    JSON.stringify({ ...good, readings: [good.readings[0], { ...good.readings[0], ...patch }] });
  it.each<[string, string | null, string | null, RegExp]>([
    ['an empty value', 'd-1', '', /empty/],
    ['a null value', 'd-1', null, /empty/],
    ['not JSON', 'd-1', '{"v":1,', /not JSON/],
    ['an array', 'd-1', '[]', /not an object/],
    ['another version', 'd-1', JSON.stringify({ ...good, v: 2 }), /^v:/],
    ['no readings', 'd-1', JSON.stringify({ ...good, readings: [] }), /^readings:/],
    ['a string value', 'd-1', withReading({ value: '21.5' }), /^readings\[1\]\.value:/],
    ['a bad metric', 'd-1', withReading({ metric: 'Temp' }), /^readings\[1\]\.metric:/],
    ['a local time', 'd-1', withReading({ measuredAt: '2026-01-01T00:00:00' }), /^readings\[1\]\.measuredAt:/],
    ['an unknown source', 'd-1', JSON.stringify({ ...good, source: 'x' }), /^source:/],
    ['a key that is not the device', 'd-2', JSON.stringify(good), /^key:/],
    ['no key', null, JSON.stringify(good), /^key:/],
  ])('refuse %s with a reason (never throw)', (_name, key, value, reason) => {
    const decoded = decodeCommand(key, value);
    expect(decoded.ok).toBe(false);
    expect(decoded.ok ? '' : decoded.reason).toMatch(reason);
  });
});
