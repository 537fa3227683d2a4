import { fieldPath, fieldProblems, type AjvError } from './ajv-problems';

const e = (
  instancePath: string,
  keyword: string,
  params: Record<string, unknown> = {},
  message = 'is bad',
): AjvError => ({
  instancePath,
  keyword,
  params,
  message,
});

describe('fieldProblems', () => {
  it('names array items and nested fields', () => {
    expect(fieldPath(['readings', '3', 'measuredAt'])).toBe('readings[3].measuredAt');
    expect(fieldPath(['a~1b', 'c~0d'])).toBe('a/b.c~d');
  });

  it.each([
    [
      e('/requestBody/settings/targetTemperature', 'maximum', {}, 'must be <= 35'),
      { in: 'body', field: 'settings.targetTemperature', message: 'must be <= 35' },
    ],
    [
      e('/requestBody', 'additionalProperties', { additionalProperty: 'colour' }),
      { in: 'body', field: 'colour', message: 'is not a known property' },
    ],
    [e('/requestBody', 'required', { missingProperty: 'name' }), { in: 'body', field: 'name', message: 'is required' }],
    [
      e('', 'required', { missingProperty: 'requestBody' }),
      { in: 'body', field: '', message: 'a JSON body is required' },
    ],
    [
      e('/query/type', 'enum', { allowedValues: ['heating', 'temperature_sensor'] }),
      { in: 'query', field: 'type', message: 'must be one of "heating", "temperature_sensor"' },
    ],
    [
      e('/path/deviceId', 'pattern', {}, 'must match pattern'),
      { in: 'path', field: 'deviceId', message: 'must match pattern' },
    ],
    [e('/query/limit', 'maximum', {}, 'must be <= 5000'), { in: 'query', field: 'limit', message: 'must be <= 5000' }],
    [
      e('/query', 'additionalProperties', { additionalProperty: 'foo' }),
      { in: 'query', field: 'foo', message: 'is not a known property' },
    ],
    [
      e('/headers/x-api-key', 'minLength', {}, 'must not be empty'),
      { in: 'header', field: 'x-api-key', message: 'must not be empty' },
    ],
    [e('', 'parse', {}, 'Unexpected token'), { in: 'body', field: '', message: 'not valid JSON: Unexpected token' }],
  ])('%j → %j', (ajvError, problem) => {
    expect(fieldProblems([ajvError])).toEqual([problem]);
  });

  it('reads paths relative to the body when bodyOnly, and drops repeats', () => {
    const twice = e('/readings/0/value', 'type', {}, 'must be number');
    expect(fieldProblems([twice, twice], { bodyOnly: true })).toEqual([
      { in: 'body', field: 'readings[0].value', message: 'must be number' },
    ]);
  });
});
