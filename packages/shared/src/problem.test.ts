import { CodedError } from './errors';
import { describeFields, errorCatalog, fieldsOf, sendProblem } from './problem';

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

  it('sends a problem with its status and media type', () => {
    const sent: Record<string, unknown> = {};
    sendProblem(
      {
        status: (s) => (sent.status = s),
        setHeader: (n, v) => (sent[n] = v),
        send: (b) => (sent.body = b),
      },
      catalog.problem('X_ERR_UNAVAILABLE', 'later'),
    );
    expect(sent).toMatchObject({ status: 503, 'Content-Type': 'application/problem+json' });
    expect(JSON.parse(sent.body as string)).toMatchObject({ code: 'X_ERR_UNAVAILABLE', detail: 'later' });
  });

  it('describes at most five fields in one sentence', () => {
    const many = Array.from({ length: 7 }, (_, i) => ({ in: 'body' as const, field: `r[${i}]`, message: 'bad' }));
    expect(describeFields(many.slice(0, 1))).toBe('r[0] (body): bad');
    expect(describeFields(many)).toMatch(/^r\[0\] \(body\): bad; .*r\[4\] \(body\): bad; and 2 more$/);
    expect(describeFields([{ in: 'body', field: '', message: 'is not JSON' }])).toBe('body (body): is not JSON');
  });
});
