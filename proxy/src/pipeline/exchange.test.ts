import type { IncomingMessage, ServerResponse } from 'node:http';
import { compose, type Exchange, type Policy } from './exchange';
import { responseHeaders } from './answer';
import { UNTRUSTED } from '../forward/headers';
import type { ForwardDecision } from './exchange';

const decision = {
  action: 'forward',
  routeId: 'heating-get',
  route: undefined,
  upstream: { name: 'device-management' },
  target: '/api/heating/1',
  tableVersion: 3,
} as unknown as ForwardDecision;

const exchange = (): Exchange => ({
  req: {} as IncomingMessage,
  res: {} as ServerResponse,
  expectContinue: false,
  arrivedAt: 0,
  requestId: 'r-1',
  decision,
  forward: {},
  own: UNTRUSTED,
});

describe('pipeline composition', () => {
  it('runs the policies in order before the last stage and hands the outcome back in reverse', () => {
    const trace: string[] = [];
    const policy =
      (name: string): Policy =>
      (ex, next, done) => {
        trace.push(`${name} in`);
        next(ex, (outcome) => {
          trace.push(`${name} out ${outcome.status}`);
          done(outcome);
        });
      };
    const run = compose([policy('a'), policy('b')], (_ex, done) => {
      trace.push('send');
      done({ status: 200, clientAborted: false });
    });
    let ended = 0;
    run(exchange(), (outcome) => (ended = outcome.status));
    expect(trace).toEqual(['a in', 'b in', 'send', 'b out 200', 'a out 200']);
    expect(ended).toBe(200);
  });

  it('stops where a policy answers itself', () => {
    let sent = false;
    const refuseAll: Policy = (_ex, _next, done) => done({ status: 400, clientAborted: false, refused: true });
    const run = compose([refuseAll], () => (sent = true));
    const outcomes: unknown[] = [];
    run(exchange(), (o) => outcomes.push(o));
    expect(sent).toBe(false);
    expect(outcomes).toEqual([{ status: 400, clientAborted: false, refused: true }]);
  });
});

describe('response headers', () => {
  it('always carry the request id; route, upstream and CDC reason only with decision headers on', () => {
    const facts = { requestId: 'r-1', decision, cdcReason: 'lag' };
    expect(responseHeaders(facts, true)).toEqual([
      'x-request-id',
      'r-1',
      'x-strangler-route',
      'heating-get',
      'x-strangler-upstream',
      'device-management',
      'x-strangler-cdc',
      'lag',
    ]);
    expect(responseHeaders(facts, false)).toEqual(['x-request-id', 'r-1']);
  });

  it('name the fallback whenever it answers', () => {
    expect(responseHeaders({ requestId: 'r-2', decision, fallbackReason: 'circuit-open' }, false)).toEqual([
      'x-request-id',
      'r-2',
      'x-strangler-fallback',
      'circuit-open',
    ]);
  });
});
