import { loadContractDocument } from './document';

const heating = { id: 1, targetTemperature: 20, currentTemperature: 0, on: false };
const springError = (status: number, error: string) => ({
  timestamp: '2026-01-01T12:00:00.000+00:00',
  status,
  error,
  path: '/api/heating/999',
});

describe('the monolith OpenAPI document', () => {
  it('documents the six operations, each with its success status, 400 and 500', async () => {
    const doc = await loadContractDocument();
    const statuses = Object.fromEntries(doc.operationIds().map((id) => [id, doc.documentedStatuses(id).sort()]));
    expect(statuses).toEqual({
      getHeatingSystem: ['200', '400', '500'],
      updateHeatingSystem: ['200', '400', '500'],
      turnOn: ['204', '400', '500'],
      turnOff: ['204', '400', '500'],
      setTemperature: ['204', '400', '500'],
      getCurrentTemperature: ['200', '400', '500'],
    });
    expect(doc.mediaTypes('getHeatingSystem', 200)).toEqual(['application/json']);
    expect(doc.mediaTypes('turnOn', 204)).toEqual([]);
    expect(doc.mediaTypes('turnOn', 404)).toBeUndefined();
  });

  it.each([
    ['the heating system', 'getHeatingSystem', 200, heating, []],
    [
      'isOn instead of on',
      'getHeatingSystem',
      200,
      { ...heating, on: undefined, isOn: false },
      ["body must have required property 'on'", 'body must NOT have additional properties ("isOn")'],
    ],
    [
      'an extra property',
      'updateHeatingSystem',
      200,
      { ...heating, name: 'x' },
      ['body must NOT have additional properties ("name")'],
    ],
    [
      'a temperature as a string',
      'getHeatingSystem',
      200,
      { ...heating, targetTemperature: '20.0' },
      ['body.targetTemperature must be number'],
    ],
    ['a fractional id', 'getHeatingSystem', 200, { ...heating, id: 1.5 }, ['body.id must be integer']],
    ['a bare number', 'getCurrentTemperature', 200, 21.5, []],
    ['an object for current-temperature', 'getCurrentTemperature', 200, { value: 21.5 }, ['body must be number']],
    ['an empty 204', 'turnOn', 204, null, []],
    ['a 204 with a body', 'turnOff', 204, {}, ['body must be null']],
    ["Spring's 500", 'turnOn', 500, springError(500, 'Internal Server Error'), []],
    [
      'a 500 saying 404',
      'turnOn',
      500,
      springError(404, 'Not Found'),
      [
        'body.status must be equal to one of the allowed values ([500])',
        'body.error must be equal to one of the allowed values (["Internal Server Error"])',
      ],
    ],
    [
      'a 500 with a message',
      'getHeatingSystem',
      500,
      { ...springError(500, 'Internal Server Error'), message: 'HeatingSystem not found' },
      ['body must NOT have additional properties ("message")'],
    ],
    [
      'a 400 without timestamp',
      'setTemperature',
      400,
      { ...springError(400, 'Bad Request'), timestamp: undefined },
      ["body must have required property 'timestamp'"],
    ],
    [
      'a 400 with an epoch timestamp',
      'setTemperature',
      400,
      { ...springError(400, 'Bad Request'), timestamp: 1767268800000 },
      ['body.timestamp must be string'],
    ],
    [
      'a 400 with a Z timestamp',
      'setTemperature',
      400,
      { ...springError(400, 'Bad Request'), timestamp: '2026-01-01T12:00:00Z' },
      [expect.stringMatching(/^body.timestamp must match pattern/)],
    ],
  ])('%s', async (_name, operationId, status, body, errors) => {
    const doc = await loadContractDocument();
    const clean = JSON.parse(JSON.stringify(body)) as unknown; // drops the undefined properties
    expect(doc.validateOperationResponse(operationId, status, clean)).toEqual(errors);
  });

  it('validates 404 and 405 bodies against components.responses', async () => {
    const doc = await loadContractDocument();
    expect(doc.validateUnattachedResponse('NotFound', springError(404, 'Not Found'))).toEqual([]);
    expect(doc.validateUnattachedResponse('MethodNotAllowed', springError(405, 'Method Not Allowed'))).toEqual([]);
    expect(doc.validateUnattachedResponse('NotFound', springError(405, 'Method Not Allowed'))).toHaveLength(2);
  });

  it('routes requests to operations', async () => {
    const doc = await loadContractDocument();
    expect(doc.matchOperation('GET', '/api/heating/1')).toBe('getHeatingSystem');
    expect(doc.matchOperation('POST', '/api/heating/1/set-temperature')).toBe('setTemperature');
    expect(doc.matchOperation('DELETE', '/api/heating/1')).toBeUndefined();
    expect(doc.matchOperation('GET', '/api/unknown')).toBeUndefined();
  });
});
