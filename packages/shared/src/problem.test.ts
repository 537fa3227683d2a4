import { CodedError } from './errors';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeFields, errorCatalog, fieldsOf, problemAnchor, problemType, sendProblem } from './problem';

const catalog = errorCatalog({
  X_ERR_VALIDATION: { status: 400, retriable: false, title: 'Request validation failed' },
  X_ERR_UNAVAILABLE: { status: 503, retriable: true, title: 'Service unavailable' },
});

describe('errorCatalog', () => {
  it('makes coded errors with the status, retriability and fields of their code', () => {
    const fields = [{ in: 'body' as const, field: 'value', message: 'must be a number' }];
    const err = catalog.error('X_ERR_UNAVAILABLE', 'database down', { fields });
    expect(err).toBeInstanceOf(CodedError);
    expect({ code: err.code, status: err.status, retriable: err.retriable }).toEqual({
      code: 'X_ERR_UNAVAILABLE',
      status: 503,
      retriable: true,
    });
    expect(fieldsOf(err)).toEqual(fields);
    expect(catalog.is(err)).toBe(true);
    expect(catalog.is(new CodedError('OTHER_ERR', 'x'))).toBe(false);
    expect(catalog.is(new CodedError('toString', 'x'))).toBe(false);
    expect(catalog.is(null)).toBe(false);
  });

  it('builds RFC 9457 bodies and leaves out empty extras', () => {
    expect(catalog.problem('X_ERR_VALIDATION', 'bad', { instance: '/a', errors: [] })).toEqual({
      type: 'urn:warmhouse:problem:x-err-validation',
      title: 'Request validation failed',
      status: 400,
      detail: 'bad',
      code: 'X_ERR_VALIDATION',
      instance: '/a',
    });
  });

  it('writes extension members at the top level, after the standard ones, which they cannot replace', () => {
    const p = catalog.problem('X_ERR_UNAVAILABLE', 'later', {
      requestId: 'r-1',
      extensions: { route: 'heating', stage: undefined, status: 200, code: 'OTHER' },
    });
    expect(p).toEqual({
      type: 'urn:warmhouse:problem:x-err-unavailable',
      title: 'Service unavailable',
      status: 503,
      detail: 'later',
      code: 'X_ERR_UNAVAILABLE',
      requestId: 'r-1',
      route: 'heating',
    });
    expect(Object.keys(p)).toEqual(['type', 'title', 'status', 'detail', 'code', 'requestId', 'route']);
    expect(problemType('PROXY_ERR_INTERNAL')).toBe(`urn:warmhouse:problem:${problemAnchor('PROXY_ERR_INTERNAL')}`);
  });

  describe('sendProblem', () => {
    let server: Server | undefined;
    afterEach(async () => {
      await new Promise((resolve) => server?.close(resolve));
      server = undefined;
    });
    const answerOf = async (handler: Parameters<typeof createServer>[1]) => {
      server = createServer(handler);
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`);
      return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
    };

    it('writes a problem to a node:http response, with its status, media type, length and extra headers', async () => {
      const r = await answerOf((_req, res) => {
        res.setHeader('www-authenticate', 'Bearer');
        sendProblem(res, catalog.problem('X_ERR_UNAVAILABLE', 'later'), { headers: ['retry-after', '5'] });
      });
      expect(r.status).toBe(503);
      expect(r.headers.get('content-type')).toBe('application/problem+json');
      expect(r.headers.get('retry-after')).toBe('5');
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
      expect(Number(r.headers.get('content-length'))).toBe(Buffer.byteLength(JSON.stringify(r.body)));
      expect(r.body).toMatchObject({ code: 'X_ERR_UNAVAILABLE', detail: 'later', status: 503 });
    });

    // express's Response is a node ServerResponse: the proxy's admin tests write problems through express
    it('answers the status of a problem that relays another one', async () => {
      const r = await answerOf((_req, res) => {
        res.setHeader('x-before', 'kept');
        sendProblem(res, catalog.problem('X_ERR_VALIDATION', 'bad', { status: 422 }));
      });
      expect(r.status).toBe(422);
      expect(r.headers.get('content-type')).toBe('application/problem+json');
      expect(r.headers.get('x-before')).toBe('kept');
      expect(r.body).toMatchObject({ code: 'X_ERR_VALIDATION', status: 422, title: 'Request validation failed' });
    });
  });

  it('describes at most five fields in one sentence', () => {
    const many = Array.from({ length: 7 }, (_, i) => ({ in: 'body' as const, field: `r[${i}]`, message: 'bad' }));
    expect(describeFields(many.slice(0, 1))).toBe('r[0] (body): bad');
    expect(describeFields(many)).toMatch(/^r\[0\] \(body\): bad; .*r\[4\] \(body\): bad; and 2 more$/);
    expect(describeFields([{ in: 'body', field: '', message: 'is not JSON' }])).toBe('body (body): is not JSON');
  });
});
