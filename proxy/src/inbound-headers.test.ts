import net from 'node:net';
import { waitFor } from '@warmhouse/shared';
import { parsePeers, TrustedPeers } from './inbound/trusted-peers';
import { startTestProxy, type TestProxy } from './testing/harness';
import { monolithAndService, startUpstream, type TestUpstream } from './testing/upstreams';

/** Request fields that belong to the proxy: a client must not be able to set any of them upstream. */
const OWN_FIELDS = [
  'X-Strangler-Dry-Run',
  'X-Strangler-Target',
  'X-Strangler-Subject',
  'X-Strangler-Scopes',
  'X-Strangler-Client-Id',
  'X-Strangler-Anything-New',
];

const ROUTES = [
  { id: 'devices', path: '/api/v1/devices/*', target: 'device-management' },
  {
    id: 'turn-on',
    methods: ['POST' as const],
    path: '/api/heating/:id/turn-on',
    target: 'device-management',
    mode: 'shadow' as const,
    shadow: { dryRun: true },
  },
  {
    id: 'get',
    methods: ['GET' as const],
    path: '/api/heating/:id',
    target: 'device-management',
    mode: 'shadow' as const,
  },
];

describe('inbound header hygiene: the proxy owns X-Strangler-* request fields', () => {
  let mono: TestUpstream;
  let dm: TestUpstream;
  let untrusted: TestProxy;
  let trusted: TestProxy;

  beforeAll(async () => {
    mono = await startUpstream('monolith');
    dm = await startUpstream('device-management');
    const table = { upstreams: monolithAndService(mono.url, dm.url), routes: ROUTES };
    untrusted = await startTestProxy(table, { trustedPeers: new TrustedPeers(parsePeers('10.0.0.0/8').entries) });
    trusted = await startTestProxy(table, { trustedPeers: new TrustedPeers(parsePeers('127.0.0.1/32,::1').entries) });
  });
  afterAll(async () => {
    await untrusted.close();
    await trusted.close();
    await mono.close();
    await dm.close();
  });
  beforeEach(() => {
    mono.seen.length = 0;
    dm.seen.length = 0;
  });
  const settled = (p: TestProxy) =>
    waitFor('shadow copies done', () => (p.proxy.shadower.pending() === 0 ? true : undefined), {
      timeoutMs: 10_000,
      intervalMs: 10,
    });

  it.each(OWN_FIELDS)('removes a client-sent %s (any case) before forwarding; other fields pass', async (name) => {
    const res = await fetch(`${untrusted.url}/api/v1/devices/1`, {
      method: 'PUT',
      headers: { [name]: '1', [name.toUpperCase() + '-2']: 'x', 'X-Custom': 'kept', 'X-Stranglers': 'not ours' },
      body: '{}',
    });
    expect(res.status).toBe(200);
    const seen = dm.seen[0]!.headers;
    expect(seen[name.toLowerCase()]).toBeUndefined();
    expect(seen[`${name.toLowerCase()}-2`]).toBeUndefined();
    expect(seen['x-custom']).toBe('kept');
    expect(seen['x-stranglers']).toBe('not ours');
  });

  it.each(OWN_FIELDS)('passes %s from a trusted peer (PROXY_TRUSTED_PEERS)', async (name) => {
    await fetch(`${trusted.url}/api/v1/devices/1`, { headers: { [name]: 'from-peer' } });
    expect(dm.seen[0]!.headers[name.toLowerCase()]).toBe('from-peer');
  });

  it("a client's X-Strangler-Dry-Run on a write never reaches the service; the shadow copy carries the proxy's own", async () => {
    const res = await fetch(`${untrusted.url}/api/heating/1/turn-on`, {
      method: 'POST',
      headers: { 'X-Strangler-Dry-Run': '0', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(200);
    await settled(untrusted);
    expect(mono.seen[0]!.headers['x-strangler-dry-run']).toBeUndefined();
    const copy = dm.seen[0]!;
    expect(copy.rawHeaders.filter((h) => h.toLowerCase() === 'x-strangler-dry-run')).toHaveLength(1);
    expect(copy.headers['x-strangler-dry-run']).toBe('1');
  });

  it("a client's X-Strangler-Dry-Run on a shadowed read reaches neither the baseline nor the copy", async () => {
    await fetch(`${untrusted.url}/api/heating/1`, { headers: { 'X-Strangler-Dry-Run': '1' } });
    await settled(untrusted);
    expect(mono.seen[0]!.headers['x-strangler-dry-run']).toBeUndefined();
    expect(dm.seen[0]!.headers['x-strangler-dry-run']).toBeUndefined();
  });

  it('removes them from upgrade (WebSocket) requests too', async () => {
    const head = await new Promise<string>((resolve, reject) => {
      dm.server.once('upgrade', (req, socket) => {
        resolve(JSON.stringify(req.headers));
        socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
      });
      const s = net.connect(untrusted.port, '127.0.0.1', () =>
        s.write(
          'GET /api/v1/devices/ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
            'X-Strangler-Dry-Run: 1\r\nX-Strangler-Subject: someone\r\n\r\n',
        ),
      );
      s.on('error', reject);
      s.on('close', () => s.destroy());
    });
    const headers = JSON.parse(head) as Record<string, string>;
    expect(headers.upgrade).toBe('websocket');
    expect(headers['x-strangler-dry-run']).toBeUndefined();
    expect(headers['x-strangler-subject']).toBeUndefined();
  });
});
