import { CodedError } from '@warmhouse/shared';
import { failureKind, isConnectionError } from './failed-request';

const ours = (err: unknown) => (err as { code?: string }).code === 'SVC_ERR_X';

describe('failureKind', () => {
  it.each([
    ['one of our coded errors', Object.assign(new Error('x'), { code: 'SVC_ERR_X' }), 'coded'],
    ['body-parser: too large', { type: 'entity.too.large', status: 413 }, 'too-large'],
    ['express.raw: 413', { status: 413 }, 'too-large'],
    ['body-parser: not JSON', { type: 'entity.parse.failed', status: 400 }, 'malformed'],
    ['another 4xx of the parser', { type: 'charset.unsupported', status: 415 }, 'malformed'],
    ['PostgreSQL connection failure (class 08)', { code: '08006' }, 'unavailable'],
    ['PostgreSQL shutting down (57P01)', { code: '57P01' }, 'unavailable'],
    ['socket refused', { code: 'ECONNREFUSED' }, 'unavailable'],
    [
      'a retriable coded error of another catalog',
      new CodedError('OTHER', 'x', { status: 503, retriable: true }),
      'unavailable',
    ],
    [
      'a non-retriable coded error of another catalog',
      new CodedError('OTHER', 'x', { status: 500, retriable: false }),
      'internal',
    ],
    ['a bug', new TypeError('undefined is not a function'), 'internal'],
    ['a constraint violation', { code: '23505' }, 'internal'],
  ])('%s → %s', (_what, err, kind) => {
    expect(failureKind(err, ours)).toBe(kind);
  });

  it('tells connection errors apart from other database errors', () => {
    expect(isConnectionError({ code: 'ETIMEDOUT' })).toBe(true);
    expect(isConnectionError({ code: '23505' })).toBe(false);
    expect(isConnectionError(null)).toBe(false);
  });
});
