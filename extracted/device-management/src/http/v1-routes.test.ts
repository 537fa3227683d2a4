import { decodeCursor, encodeCursor } from './device-json';
import { fieldProblems } from './v1-routes';

describe('fieldProblems', () => {
  it.each([
    [
      {
        instancePath: '/requestBody/settings/targetTemperature',
        keyword: 'maximum',
        message: 'must be <= 35',
        params: {},
      },
      { in: 'body', field: 'settings.targetTemperature', message: 'must be <= 35' },
    ],
    [
      {
        instancePath: '/requestBody',
        keyword: 'additionalProperties',
        message: 'x',
        params: { additionalProperty: 'colour' },
      },
      { in: 'body', field: 'colour', message: 'is not a known property' },
    ],
    [
      { instancePath: '/requestBody', keyword: 'required', message: 'x', params: { missingProperty: 'name' } },
      { in: 'body', field: 'name', message: 'is required' },
    ],
    [
      { instancePath: '', keyword: 'required', message: 'x', params: { missingProperty: 'requestBody' } },
      { in: 'body', field: '', message: 'a JSON body is required' },
    ],
    [
      {
        instancePath: '/query/type',
        keyword: 'enum',
        message: 'x',
        params: { allowedValues: ['heating', 'temperature_sensor'] },
      },
      { in: 'query', field: 'type', message: 'must be one of "heating", "temperature_sensor"' },
    ],
    [
      { instancePath: '/path/deviceId', keyword: 'pattern', message: 'must match pattern', params: {} },
      { in: 'path', field: 'deviceId', message: 'must match pattern' },
    ],
  ])('%j → %j', (ajvError, problem) => {
    expect(fieldProblems([ajvError])).toEqual([problem]);
  });
});

describe('page cursors', () => {
  it('round-trip and reject anything else', () => {
    expect(decodeCursor(encodeCursor('12345'))).toBe('12345');
    expect(decodeCursor('bm90LWEtbnVtYmVy')).toBeUndefined();
  });
});
