import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CONTRACT_CHECKS, preflight } from '@warmhouse/monolith-contract';
import { createLogger } from '@warmhouse/shared';
import {
  heatingRows,
  startStandIn,
  type HeatingRow,
  type StandInUnderTest,
} from '../../../monolith-standin/test/standin-harness';
import { readTestEndpoints } from '../../../test/stack-endpoints';
import { loadProxyConfig } from '../../src/config';
import { startStrangler, type RunningStrangler } from '../../src/server';

/**
 * The monolith contract, run against the proxy with the default route table (proxy/routes.yaml: every
 * heating route → monolith) in front of the stand-in. Clients must not notice the proxy.
 */
describe('the monolith contract passes through the strangler proxy', () => {
  let standIn: StandInUnderTest;
  let strangler: RunningStrangler;
  let stateDir: string;
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
    stateDir = mkdtempSync(path.join(tmpdir(), 'strangler-contract-'));
    const env = {
      PROXY_HOST: '127.0.0.1',
      PROXY_PORT: '0',
      PROXY_ADMIN_PORT: '0',
      PROXY_ADMIN_TOKEN: 'contract-test-token-0123456789',
      PROXY_STATE_DIR: stateDir,
      PROXY_WATCH_ROUTES_FILE: 'false',
      MONOLITH_URL: standIn.baseUrl,
      LOG_LEVEL: 'silent',
    };
    strangler = await startStrangler(
      loadProxyConfig(env),
      createLogger('proxy-contract', process.env.TEST_LOG_LEVEL ?? 'silent'),
      env,
    );
    await preflight({ baseUrl: strangler.proxyUrl });
  });
  afterAll(async () => {
    await strangler?.stop();
    await standIn?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
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
