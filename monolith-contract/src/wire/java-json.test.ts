import { coerceBoolean, coerceDouble, coerceLong, javaDouble, parseJavaDouble, parseJavaLong } from './java-json';
import { heatingSystemJson, parseHeatingSettings } from './heating-json';

describe("Java's Double.toString", () => {
  it.each([
    [20, '20.0'],
    [22.5, '22.5'],
    [0, '0.0'],
    [-0, '-0.0'],
    [-3, '-3.0'],
    [0.001, '0.001'],
    [0.0001, '1.0E-4'],
    [9999999, '9999999.0'],
    [1e7, '1.0E7'],
    [12345678.9, '1.23456789E7'],
    [NaN, '"NaN"'],
    [Infinity, '"Infinity"'],
  ])('%p → %s', (value, expected) => expect(javaDouble(value)).toBe(expected));
});

describe('request parameter parsing', () => {
  it.each([
    ['22.5', 22.5],
    [' 22.5 ', 22.5],
    ['1e2', 100],
    ['22.5d', 22.5],
    ['-4', -4],
    ['.5', 0.5],
  ])('Double.valueOf(%p) = %p', (text, expected) => expect(parseJavaDouble(text)).toBe(expected));
  it.each(['abc', '', '1,5', '0x', '22.5.1'])('Double.valueOf(%p) throws', (text) =>
    expect(parseJavaDouble(text)).toBeUndefined(),
  );

  it('parses ids as Java longs', () => {
    expect(parseJavaLong('7')).toBe(7n);
    expect(parseJavaLong('+7')).toBe(7n);
    expect(parseJavaLong('-1')).toBe(-1n);
    expect(parseJavaLong('9223372036854775807')).toBe(9223372036854775807n);
    expect(parseJavaLong('9223372036854775808')).toBeUndefined();
    expect(parseJavaLong('abc')).toBeUndefined();
    expect(parseJavaLong('1.5')).toBeUndefined();
  });
});

describe('Jackson coercion of the PUT body', () => {
  it('applies only on and targetTemperature, with Java defaults for missing fields', () => {
    expect(parseHeatingSettings('{"on":true,"targetTemperature":21}')).toEqual({ isOn: true, targetTemperature: 21 });
    expect(parseHeatingSettings('{}')).toEqual({ isOn: false, targetTemperature: 0 });
    expect(parseHeatingSettings('{"isOn":true,"targetTemperature":"19.5","extra":1}')).toEqual({
      isOn: false,
      targetTemperature: 19.5,
    });
  });
  it('rejects what Jackson rejects', () => {
    expect(() => parseHeatingSettings('{"on":')).toThrow();
    expect(() => parseHeatingSettings('[1]')).toThrow();
    expect(() => parseHeatingSettings('{"on":"yes"}')).toThrow();
    expect(() => parseHeatingSettings('{"targetTemperature":true}')).toThrow();
    expect(() => parseHeatingSettings('{"id":"abc"}')).toThrow();
  });
  it('coerces scalars like Jackson', () => {
    expect(coerceBoolean(1, 'on')).toBe(true);
    expect(coerceBoolean(0, 'on')).toBe(false);
    expect(coerceBoolean('TRUE', 'on')).toBe(true);
    expect(coerceBoolean(null, 'on')).toBe(false);
    expect(() => coerceBoolean(1.5, 'on')).toThrow();
    expect(coerceDouble(null, 't')).toBe(0);
    expect(() => coerceLong(1.5, 'id')).toThrow();
  });
});

it('writes the DTO with `on`, Java doubles and currentTemperature always 0.0', () => {
  expect(heatingSystemJson({ id: 3n, isOn: true, targetTemperature: 20, currentTemperature: 18.5 })).toBe(
    '{"id":3,"targetTemperature":20.0,"currentTemperature":0.0,"on":true}',
  );
});
