import { fieldPath, fieldProblems, type AjvError } from './validation';

const e = (
  instancePath: string,
  keyword: string,
  schemaPath: string,
  params: Record<string, unknown> = {},
  message = 'is bad',
): AjvError => ({
  instancePath,
  keyword,
  schemaPath,
  params,
  message,
});

describe('fieldProblems', () => {
  it('names array items and nested fields', () => {
    expect(fieldPath(['readings', '3', 'measuredAt'])).toBe('readings[3].measuredAt');
  });

  it('maps query and path parameters, unknown properties and enums', () => {
    expect(
      fieldProblems([
        e('/query/limit', 'maximum', '#/properties/query/properties/limit/maximum', {}, 'must be <= 5000'),
        e('/query', 'additionalProperties', '#/properties/query/additionalProperties', { additionalProperty: 'foo' }),
        e('/path/deviceId', 'pattern', '#/properties/path/properties/deviceId/pattern', {}, 'must match pattern'),
        e('/query/step', 'enum', '#/properties/query/properties/step/enum', { allowedValues: ['1m', '1h'] }),
      ]),
    ).toEqual([
      { in: 'query', field: 'limit', message: 'must be <= 5000' },
      { in: 'query', field: 'foo', message: 'is not a known property' },
      { in: 'path', field: 'deviceId', message: 'must match pattern' },
      { in: 'query', field: 'step', message: 'must be one of "1m", "1h"' },
    ]);
  });
});
