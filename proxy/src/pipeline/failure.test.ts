import { failedStatus, verdictOf, type OutcomeFacts } from './failure';

const ok = (status: number): OutcomeFacts => ({ status, clientAborted: false });

describe('what counts as an upstream failure', () => {
  it.each([
    [200, undefined, false],
    [404, undefined, false],
    [499, undefined, false],
    [500, undefined, true],
    [503, undefined, true],
    [404, new Set([404]), true],
    [429, new Set([404]), false],
  ])('status %i with fallback statuses %p → failed %p', (status, statuses, failed) => {
    expect(failedStatus(status, statuses)).toBe(failed);
  });

  it.each<[string, OutcomeFacts, ReadonlySet<number> | undefined, string]>([
    ['a 2xx answer', ok(200), undefined, 'success'],
    ['a 5xx answer', ok(502), undefined, 'failure'],
    ['a fallback status', ok(404), new Set([404]), 'failure'],
    ['a fallback status the caller does not pass (statistics)', ok(404), undefined, 'success'],
    ['a fallback outcome', { status: 502, clientAborted: false, fallback: 'status 503' }, undefined, 'failure'],
    ['a client that went away', { status: 499, clientAborted: true }, undefined, 'abandoned'],
    [
      'the proxy failing the exchange (timeout)',
      { status: 504, clientAborted: false, error: { code: 'PROXY_ERR_UPSTREAM_TIMEOUT' } },
      undefined,
      'failure',
    ],
    [
      "a 4xx of the proxy's own (the client's fault)",
      { status: 413, clientAborted: false, error: { code: 'PROXY_ERR_BODY_TOO_LARGE' } },
      undefined,
      'success',
    ],
  ])('%s → %s', (_name, outcome, statuses, verdict) => {
    expect(verdictOf(outcome, statuses)).toBe(verdict);
  });
});
