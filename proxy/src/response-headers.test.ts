import http from 'node:http';
import { startTestProxy, type TestProxy } from './testing/harness';
import { startUpstream, type TestUpstream } from './testing/upstreams';

/** how long the slow upstream takes to answer */
const UPSTREAM_DELAY_MS = 1_500;

function get(url: string, init: http.RequestOptions = {}): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent: false, ...init }, (res) => {
      res.resume();
      res.on('end', () => resolve(res));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('X-Strangler-Upstream and X-Strangler-Proxy-Latency response headers', () => {
  let slow: TestUpstream;
  let dm: TestUpstream;
  const table = () => ({
    upstreams: [
      { name: 'monolith', url: slow.url },
      { name: 'device-management', url: dm.url },
      { name: 'gone', url: 'http://127.0.0.1:9' },
    ],
    routes: [
      { id: 'dm', path: '/api/dm', target: 'device-management' },
      { id: 'off', path: '/api/off', target: 'device-management', mode: 'unavailable' as const },
      { id: 'dead', path: '/api/dead', target: 'gone' },
    ],
  });
  let p: TestProxy;

  beforeAll(async () => {
    slow = await startUpstream('monolith', (req, res) => {
      req.resume();
      setTimeout(() => res.end('slow'), UPSTREAM_DELAY_MS);
    });
    dm = await startUpstream('device-management');
    p = await startTestProxy(table());
  });
  afterAll(async () => {
    await p.close();
    await slow.close();
    await dm.close();
  });

  it('name the target that answered and the time spent in the proxy itself, not in the upstream', async () => {
    const r = await get(`${p.url}/anything`);
    expect(r.headers['x-strangler-upstream']).toBe('monolith');
    expect(r.headers['x-strangler-route']).toBe('(default)');
    const ms = Number(r.headers['x-strangler-proxy-latency']);
    expect(r.headers['x-strangler-proxy-latency']).toMatch(/^\d+\.\d{3}$/);
    expect(ms).toBeGreaterThanOrEqual(0);
    // the upstream's own time is not in it: the header stays far below the upstream's delay, however busy the machine
    expect(ms).toBeLessThan(UPSTREAM_DELAY_MS / 2);
    const d = await get(`${p.url}/api/dm`);
    expect(d.headers['x-strangler-upstream']).toBe('device-management');
    expect(d.headers['x-strangler-proxy-latency']).toMatch(/^\d+\.\d{3}$/);
  });

  it('are on the proxy’s own answers too (switched-off route, unreachable upstream)', async () => {
    const off = await get(`${p.url}/api/off`);
    expect(off.statusCode).toBe(503);
    expect(off.headers['x-strangler-proxy-latency']).toMatch(/^\d+\.\d{3}$/);
    const dead = await get(`${p.url}/api/dead`);
    expect(dead.statusCode).toBe(502);
    expect(dead.headers['x-strangler-upstream']).toBe('gone');
    expect(dead.headers['x-strangler-proxy-latency']).toMatch(/^\d+\.\d{3}$/);
  });

  it('can be switched off', async () => {
    const q = await startTestProxy(table(), { decisionHeaders: false });
    try {
      for (const path of ['/api/dm', '/api/off', '/api/dead']) {
        const r = await get(`${q.url}${path}`);
        expect(r.headers['x-strangler-upstream']).toBeUndefined();
        expect(r.headers['x-strangler-route']).toBeUndefined();
        expect(r.headers['x-strangler-proxy-latency']).toBeUndefined();
      }
    } finally {
      await q.close();
    }
  });
});
