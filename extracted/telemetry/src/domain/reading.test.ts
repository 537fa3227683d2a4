import { checkReadings, parseInstant, type ReadingInput } from './reading';

const now = new Date('2026-06-01T12:00:00.000Z');
const window = { maxAgeMs: 30 * 24 * 3600_000, maxFutureMs: 300_000 };
const base: ReadingInput = {
  deviceId: 'd-1',
  metric: 'temperature',
  value: 21.5,
  unit: 'Cel',
  measuredAt: '2026-06-01T11:59:00Z',
};
const check = (patch: Record<string, unknown>) =>
  checkReadings([{ ...base, ...patch } as ReadingInput], (i, n) => `readings[${i}].${n}`, now, window);

describe('checkReadings', () => {
  it('accepts a good reading and converts the time', () => {
    const { readings, problems } = check({ idempotencyKey: 'k-1', houseId: 'h-1' });
    expect(problems).toEqual([]);
    expect(readings).toEqual([
      { ...base, measuredAt: new Date('2026-06-01T11:59:00Z'), idempotencyKey: 'k-1', houseId: 'h-1', source: 'api' },
    ]);
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ['Infinity (JSON 1e999)', { value: Infinity }, 'value', /finite/],
    ['NaN', { value: NaN }, 'value', /finite/],
    ['a string value', { value: '21.5' }, 'value', /finite/],
    ['a local time without zone', { measuredAt: '2026-06-01T11:59:00' }, 'measuredAt', /time zone/],
    ['a date only', { measuredAt: '2026-06-01' }, 'measuredAt', /RFC 3339/],
    ['an impossible date', { measuredAt: '2026-02-30T00:00:00Z' }, 'measuredAt', /RFC 3339/],
    [
      'a time too far in the past',
      { measuredAt: '2026-04-01T00:00:00Z' },
      'measuredAt',
      /older than the accepted window/,
    ],
    ['the year 1970', { measuredAt: '1970-01-01T00:00:00Z' }, 'measuredAt', /older/],
    ['a time beyond the clock skew', { measuredAt: '2026-06-01T12:06:00Z' }, 'measuredAt', /future/],
    ['the year 9999', { measuredAt: '9999-12-31T23:59:59Z' }, 'measuredAt', /future/],
    ['a wrong unit for a known metric', { unit: 'degF' }, 'unit', /"Cel"/],
    ['below absolute zero', { value: -300 }, 'value', />= -273.15/],
    ['humidity above 100', { metric: 'humidity', unit: '%RH', value: 101 }, 'value', /<= 100/],
  ])('refuses %s, naming the field', (_name, patch, field, message) => {
    const { readings, problems } = check(patch);
    expect(readings).toEqual([]);
    expect(problems).toEqual([{ in: 'body', field: `readings[0].${field}`, message: expect.stringMatching(message) }]);
  });

  it('accepts unknown metrics with any unit, and times within the skew', () => {
    expect(check({ metric: 'power.heater', unit: 'kW', value: -5 }).problems).toEqual([]);
    expect(check({ measuredAt: '2026-06-01T12:04:59+00:00' }).problems).toEqual([]);
    expect(check({ measuredAt: '2026-06-01T14:04:59.123456+02:00' }).problems).toEqual([]);
  });

  it('reports every problem of a batch at once', () => {
    const { readings, problems } = checkReadings(
      [base, { ...base, value: Infinity, unit: 'K' }, base],
      (i, n) => `readings[${i}].${n}`,
      now,
      window,
    );
    expect(readings).toHaveLength(2);
    expect(problems.map((p) => p.field)).toEqual(['readings[1].value', 'readings[1].unit']);
  });
});

describe('parseInstant', () => {
  it('keeps milliseconds and applies offsets', () => {
    expect(parseInstant('2026-01-01T01:00:00.123+01:00')?.toISOString()).toBe('2026-01-01T00:00:00.123Z');
    expect(parseInstant('2026-01-01t00:00:00z')?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(parseInstant('2026-13-01T00:00:00Z')).toBeUndefined();
    expect(parseInstant('2026-01-01T24:00:00Z')).toBeUndefined();
    expect(parseInstant('yesterday')).toBeUndefined();
  });
});
