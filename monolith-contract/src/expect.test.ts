import { loadContractDocument } from './document';
import { ContractError } from './errors';
import { allCases, expectOperationResponse, expectUnattachedError } from './expect';
import type { Exchange } from './http';

const exchange = (
  method: string,
  target: string,
  status: number,
  body: string,
  contentType: string | null = 'application/json',
): Exchange => ({
  method,
  target,
  status,
  headers: new Headers(contentType ? { 'content-type': contentType } : {}),
  bytes: Buffer.from(body),
  text: body,
});

const error500 = (path: string) =>
  `{"timestamp":"2026-01-01T12:00:00.000+00:00","status":500,"error":"Internal Server Error","path":"${path}"}`;

async function failureOf(run: () => unknown): Promise<string> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(ContractError);
    expect((err as ContractError).code).toBe('CONTRACT_ERR_ASSERTION');
    return (err as Error).message;
  }
  throw new Error('expected a contract failure');
}

describe('expectOperationResponse', () => {
  it('returns the parsed body with its raw number lexemes', async () => {
    const doc = await loadContractDocument();
    const body = '{"id":1,"targetTemperature":20.0,"currentTemperature":0.0,"on":false}';
    const result = expectOperationResponse(doc, exchange('GET', '/api/heating/1', 200, body), 'getHeatingSystem', 200);
    expect(result?.value).toEqual({ id: 1, targetTemperature: 20, currentTemperature: 0, on: false });
    expect(result?.lexemes.get('/targetTemperature')).toBe('20.0');
  });

  it('accepts an empty 204', async () => {
    const doc = await loadContractDocument();
    expect(
      expectOperationResponse(doc, exchange('POST', '/api/heating/1/turn-on', 204, '', null), 'turnOn', 204),
    ).toBeUndefined();
  });

  it.each([
    [
      'another status',
      exchange('GET', '/api/heating/9', 404, '{}'),
      'getHeatingSystem',
      500,
      /expected HTTP 500 \(getHeatingSystem\), got 404/,
    ],
    [
      'an undocumented status',
      exchange('GET', '/api/heating/9', 404, '{}'),
      'getHeatingSystem',
      404,
      /HTTP 404 is not a documented response of getHeatingSystem \(documented: 200, 400, 500\)/,
    ],
    [
      'a 204 with a body',
      exchange('POST', '/api/heating/1/turn-on', 204, 'ok', 'text/plain'),
      'turnOn',
      204,
      /expected an empty body, got 2 bytes/,
    ],
    [
      'text/plain',
      exchange('GET', '/api/heating/1/current-temperature', 200, '21.5', 'text/plain'),
      'getCurrentTemperature',
      200,
      /expected Content-Type application\/json, got text\/plain/,
    ],
    [
      'no Content-Type',
      exchange('GET', '/api/heating/1/current-temperature', 200, '21.5', null),
      'getCurrentTemperature',
      200,
      /got none/,
    ],
    [
      'invalid JSON',
      exchange('GET', '/api/heating/1/current-temperature', 200, '21.5.1'),
      'getCurrentTemperature',
      200,
      /not valid JSON/,
    ],
    [
      'a schema violation',
      exchange('GET', '/api/heating/1/current-temperature', 200, '"21.5"'),
      'getCurrentTemperature',
      200,
      /body must be number/,
    ],
    [
      'an error body for another path',
      exchange('GET', '/api/heating/9', 500, error500('/api/heating/8')),
      'getHeatingSystem',
      500,
      /path should be the request path "\/api\/heating\/9", got "\/api\/heating\/8"/,
    ],
  ])('fails on %s, quoting the exchange', async (_name, ex, operationId, status, message) => {
    const doc = await loadContractDocument();
    const text = await failureOf(() => expectOperationResponse(doc, ex, operationId, status));
    expect(text).toMatch(message);
    expect(text).toContain(`exchange: ${ex.method} ${ex.target}`);
  });

  it('accepts a Content-Type with parameters here (json-content-type-exact checks the exact header)', async () => {
    const doc = await loadContractDocument();
    const ex = exchange('GET', '/api/heating/9', 500, error500('/api/heating/9'), 'application/json; charset=utf-8');
    expect(() => expectOperationResponse(doc, ex, 'getHeatingSystem', 500)).not.toThrow();
  });

  it('compares the error path without the query', async () => {
    const doc = await loadContractDocument();
    const ex = exchange(
      'POST',
      '/api/heating/9/set-temperature?temperature=1',
      500,
      error500('/api/heating/9/set-temperature'),
    );
    expect(() => expectOperationResponse(doc, ex, 'setTemperature', 500)).not.toThrow();
  });
});

describe('expectUnattachedError', () => {
  it('checks a 405 against components.responses.MethodNotAllowed', async () => {
    const doc = await loadContractDocument();
    const body =
      '{"timestamp":"2026-01-01T12:00:00.000+00:00","status":405,"error":"Method Not Allowed","path":"/api/heating/1"}';
    expect(() =>
      expectUnattachedError(doc, exchange('DELETE', '/api/heating/1', 405, body), 'MethodNotAllowed', 405),
    ).not.toThrow();
    const text = await failureOf(() =>
      expectUnattachedError(doc, exchange('DELETE', '/api/heating/1', 405, body), 'NotFound', 405),
    );
    expect(text).toMatch(
      /components.responses.NotFound: body.status must be equal to one of the allowed values \(\[404\]\)/,
    );
  });
});

describe('allCases', () => {
  it('runs every case and reports all failures together', async () => {
    const ran: string[] = [];
    const text = await failureOf(() =>
      allCases(
        ['a', 'b', 'c'].map((name) => ({
          name,
          run: async () => {
            ran.push(name);
            if (name !== 'b') throw new Error(`${name} is wrong`);
          },
        })),
      ),
    );
    expect(ran).toEqual(['a', 'b', 'c']);
    expect(text).toBe('2 of 3 cases differ from the monolith:\n- a: a is wrong\n- c: c is wrong');
  });

  it('stops at once when the implementation cannot be reached', async () => {
    const unreachable = new ContractError('CONTRACT_ERR_UNREACHABLE', 'no answer');
    await expect(allCases([{ name: 'a', run: () => Promise.reject(unreachable) }])).rejects.toBe(unreachable);
  });
});
