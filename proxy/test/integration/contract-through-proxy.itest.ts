import { CONTRACT_CHECKS, preflight } from '@warmhouse/monolith-contract';
import {
  heatingRows,
  startStandIn,
  type HeatingRow,
  type StandInUnderTest,
} from '../../../monolith-standin/test/standin-harness';
import { readTestEndpoints } from '../../../test/stack-endpoints';
import { startTestStrangler, type TestStrangler } from '../../src/testing/strangler';

/**
 * The monolith contract, run against the proxy with the default route table (proxy/routes.yaml: every
 * heating route → monolith) in front of the stand-in. Clients must not notice the proxy.
 */
describe('the monolith contract passes through the strangler proxy', () => {
  let standIn: StandInUnderTest;
  let strangler: TestStrangler;
  let seeded: HeatingRow[];
  const upstreamsSeen: string[] = [];

  // Records which upstream served every request the checks make (the proxy's decision header).
  const recordingFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    upstreamsSeen.push(res.headers.get('x-strangler-upstream') ?? '(none)');
    return res;
  };

  beforeAll(async () => {
    standIn = await startStandIn(readTestEndpoints().postgres.superuserUrl, 'proxy_contract');
    seeded = await heatingRows(standIn.pool);
    strangler = await startTestStrangler({
      name: 'contract',
      token: 'contract-test-token-0123456789',
      env: { MONOLITH_URL: standIn.baseUrl },
    });
    await preflight({ baseUrl: strangler.proxyUrl });
  });
  afterAll(async () => {
    await strangler?.stop();
    await standIn?.stop();
  });

  for (const check of CONTRACT_CHECKS) {
    it(`${check.name}: ${check.description}`, () => check.run({ baseUrl: strangler.proxyUrl, fetch: recordingFetch }));
  }

  it('answers exactly as the stand-in does: status, headers and body bytes (timestamps and per-hop headers aside)', async () => {
    const PER_HOP = new Set([
      'date',
      'connection',
      'keep-alive',
      'x-request-id',
      'x-strangler-route',
      'x-strangler-upstream',
      'x-strangler-proxy-latency',
    ]);
    const exchange = async (base: string, method: string, target: string, body?: string) => {
      const res = await fetch(`${base}${target}`, {
        method,
        body,
        headers: body ? { 'content-type': 'application/json' } : {},
      });
      const headers = [...res.headers].filter(([name]) => !PER_HOP.has(name));
      const text = (await res.text()).replace(/"timestamp":"[^"]+"/, '"timestamp":"T"');
      return { status: res.status, headers, text };
    };
    const cases: Array<[string, string, string?]> = [
      ['GET', '/api/heating/2'],
      ['GET', '/api/heating/2/current-temperature'],
      ['HEAD', '/api/heating/2'],
      ['OPTIONS', '/api/heating/2'],
      ['GET', '/api/heating/abc'],
      ['GET', '/api/heating/999999999'],
      ['GET', '/api/heating/2/unknown'],
      ['GET', '/api/heating/2/'],
      ['DELETE', '/api/heating/2'],
      ['POST', '/api/heating/2/set-temperature'],
      ['POST', '/api/heating/2/set-temperature?temperature=abc'],
      ['PUT', '/api/heating/2', '{not json'],
      ['GET', '/nowhere?x=1'],
    ];
    for (const [method, target, body] of cases) {
      const direct = await exchange(standIn.baseUrl, method, target, body);
      const proxied = await exchange(strangler.proxyUrl, method, target, body);
      expect({ method, target, ...proxied }).toEqual({ method, target, ...direct });
    }
  });

  it('sent every request of the contract to the monolith and left every heating system as it was', async () => {
    expect(upstreamsSeen.length).toBeGreaterThan(0);
    expect(new Set(upstreamsSeen)).toEqual(new Set(['monolith']));
    expect(await heatingRows(standIn.pool)).toEqual(seeded);
  });
});
