import { createHash, randomBytes } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import { waitFor } from '@warmhouse/shared';
import { jsonBodyOf, rawExchange, startTestProxy, statusOf, type TestProxy } from './testing/harness';
import { monolithAndService, startUpstream, type TestUpstream } from './testing/upstreams';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

function send(
  url: string,
  options: http.RequestOptions & { body?: Buffer | string; chunks?: Array<Buffer | string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent: false, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body: Buffer.concat(chunks),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (options.chunks) for (const c of options.chunks) req.write(c);
    req.end(options.body);
  });
}

describe('forwarding', () => {
  let mono: TestUpstream;
  let dm: TestUpstream;
  let p: TestProxy;

  beforeAll(async () => {
    mono = await startUpstream('monolith');
    dm = await startUpstream('device-management');
    p = await startTestProxy({
      upstreams: monolithAndService(mono.url, dm.url),
      routes: [
        { id: 'turn-on', methods: ['POST'], path: '/api/heating/:id/turn-on', target: 'device-management' },
        { id: 'frozen', path: '/api/frozen', target: 'monolith', mode: 'unavailable' },
      ],
    });
  });
  afterAll(async () => {
    await p.close();
    await mono.close();
    await dm.close();
  });
  beforeEach(() => {
    mono.seen.length = 0;
    dm.seen.length = 0;
  });

  it('passes method, path, query, headers and body through unchanged and tags the decision', async () => {
    const body = JSON.stringify({ on: true, targetTemperature: 21.5 });
    const r = await send(`${p.url}/api/heating/7/turn-on?x=1&y=%2F`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Custom': 'A b', cookie: 'a=1', 'x-request-id': 'req-123' },
      body,
    });
    expect(r.status).toBe(200);
    expect(r.headers['x-strangler-route']).toBe('turn-on');
    expect(r.headers['x-strangler-upstream']).toBe('device-management');
    expect(r.headers['x-request-id']).toBe('req-123');
    expect(JSON.parse(r.body.toString())).toMatchObject({ upstream: 'device-management' });
    expect(mono.seen).toHaveLength(0);
    const seen = dm.seen[0]!;
    expect(seen).toMatchObject({
      method: 'POST',
      url: '/api/heating/7/turn-on?x=1&y=%2F',
      bodyBytes: Buffer.byteLength(body),
    });
    expect(seen.bodySha256).toBe(createHash('sha256').update(body).digest('hex'));
    expect(seen.rawHeaders).toEqual(
      expect.arrayContaining(['X-Custom', 'A b', 'content-type', 'application/json', 'cookie', 'a=1']),
    );
    expect(seen.headers['x-request-id']).toBe('req-123');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe(`127.0.0.1:${p.port}`);
    expect(seen.headers.host).toBe(`127.0.0.1:${dm.port}`);
  });

  it('generates an X-Request-Id when the client sends none (or an insane one) and appends to X-Forwarded-For', async () => {
    const r = await send(`${p.url}/other`, {
      headers: { 'x-request-id': 'bad id with spaces', 'x-forwarded-for': '10.1.2.3' },
    });
    expect(r.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(mono.seen[0]!.headers['x-request-id']).toBe(r.headers['x-request-id']);
    expect(mono.seen[0]!.headers['x-forwarded-for']).toBe('10.1.2.3, 127.0.0.1');
    expect(r.headers['x-strangler-route']).toBe('(default)');
  });

  it('strips hop-by-hop headers in both directions (RFC 9110 §7.6.1)', async () => {
    const up = await startUpstream('hop', (_req, res) => {
      res.writeHead(200, {
        connection: 'x-secret, keep-alive',
        'x-secret': 's',
        'keep-alive': 'timeout=9',
        'x-kept': 'k',
        'content-length': '2',
      });
      res.end('ok');
    });
    const q = await startTestProxy({ upstreams: [{ name: 'monolith', url: up.url }] });
    try {
      const raw = await rawExchange(
        q.port,
        'GET /x HTTP/1.1\r\nHost: h\r\nConnection: close, X-Drop\r\nX-Drop: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\nX-Keep: 2\r\n\r\n',
      );
      const h = up.seen[0]!.headers;
      expect(h['x-drop']).toBeUndefined();
      expect(h['keep-alive']).toBeUndefined();
      expect(h.te).toBeUndefined();
      expect(h['proxy-connection']).toBeUndefined();
      expect(h['x-keep']).toBe('2');
      expect(statusOf(raw)).toBe(200);
      expect(raw).toMatch(/\r\nx-kept: k\r\n/i);
      expect(raw).not.toMatch(/x-secret|timeout=9/i);
    } finally {
      await q.close();
      await up.close();
    }
  });

  it('keeps status, duplicate response headers and body bytes', async () => {
    const up = await startUpstream('status', (_req, res) => {
      res.writeHead(418, 'Teapot Here', [
        ['Set-Cookie', 'a=1'],
        ['Set-Cookie', 'b=2'],
        ['Content-Type', 'application/octet-stream'],
      ]);
      res.end(Buffer.from([0, 1, 2, 255]));
    });
    const q = await startTestProxy({ upstreams: [{ name: 'monolith', url: up.url }] });
    try {
      const r = await send(`${q.url}/t`);
      expect(r.status).toBe(418);
      expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2']);
      expect([...r.body]).toEqual([0, 1, 2, 255]);
    } finally {
      await q.close();
      await up.close();
    }
  });

  it('answers HEAD with the upstream headers and no body', async () => {
    const r = await send(`${p.url}/api/heating/1`, { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(
      String(JSON.stringify({ upstream: 'monolith', method: 'HEAD', url: '/api/heating/1', bodyBytes: 0 }).length),
    );
    expect(r.body.length).toBe(0);
    expect(mono.seen[0]!.method).toBe('HEAD');
  });

  it('streams a chunked request body and a chunked response', async () => {
    const up = await startUpstream('chunky', (req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('got:');
        res.end(Buffer.concat(parts));
      });
    });
    const q = await startTestProxy({ upstreams: [{ name: 'monolith', url: up.url }] });
    try {
      const raw = await rawExchange(
        q.port,
        'POST /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
      );
      expect(up.seen[0]!.headers['content-type']).toBeUndefined();
      expect(statusOf(raw)).toBe(200);
      expect(raw).toMatch(/transfer-encoding: chunked/i);
      expect(raw).toContain('got:');
      expect(raw).toContain('hello world');
    } finally {
      await q.close();
      await up.close();
    }
  });

  it('answers Expect: 100-continue after routing, then streams the body', async () => {
    const raw = await new Promise<string>((resolve) => {
      const socket = net.connect(p.port, '127.0.0.1');
      let out = '';
      socket.on('data', (c: Buffer) => {
        out += c.toString('latin1');
        if (out.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && !out.includes('200')) socket.write('hello');
      });
      socket.on('close', () => resolve(out));
      socket.write(
        'POST /api/heating/1/turn-on HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n',
      );
    });
    expect(raw.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200')).toBe(true);
    expect(dm.seen[0]!.bodyBytes).toBe(5);
    expect(dm.seen[0]!.headers.expect).toBeUndefined();
  });

  it('answers 413 instead of 100 Continue when the declared body is too large', async () => {
    const q = await startTestProxy({ upstreams: [{ name: 'monolith', url: mono.url }] }, { maxBodyBytes: 10 });
    try {
      const raw = await rawExchange(
        q.port,
        'POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n',
      );
      expect(statusOf(raw)).toBe(413);
      expect(raw).not.toContain('100 Continue');
      expect(jsonBodyOf(raw)).toMatchObject({
        code: 'PROXY_ERR_BODY_TOO_LARGE',
        route: '(default)',
        upstream: 'monolith',
      });
      expect(mono.seen).toHaveLength(0);
    } finally {
      await q.close();
    }
  });

  it('answers 413 when a chunked body grows past the limit, and the upstream never gets the rest', async () => {
    const q = await startTestProxy({ upstreams: [{ name: 'monolith', url: mono.url }] }, { maxBodyBytes: 1000 });
    try {
      const chunk = 'x'.repeat(600);
      const raw = await rawExchange(
        q.port,
        `POST /big HTTP/1.1\r\nHost: h\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n${chunk}\r\n258\r\n${chunk}\r\n0\r\n\r\n`,
      );
      expect(statusOf(raw)).toBe(413);
      expect(jsonBodyOf(raw)).toMatchObject({ code: 'PROXY_ERR_BODY_TOO_LARGE', stage: 'client-body' });
    } finally {
      await q.close();
    }
  });

  it('answers 503 with Retry-After for a route in mode unavailable, without contacting the upstream', async () => {
    const agent = new http.Agent({ keepAlive: true });
    const r = await send(`${p.url}/api/frozen`, { agent });
    agent.destroy();
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('5');
    expect(r.headers.connection).toBe('keep-alive');
    expect(JSON.parse(r.body.toString())).toMatchObject({
      code: 'PROXY_ERR_ROUTE_UNAVAILABLE',
      route: 'frozen',
      upstream: 'monolith',
    });
    expect(mono.seen).toHaveLength(0);
  });

  it('answers 502 problem details naming route and upstream when the upstream is down', async () => {
    const down = await startUpstream('down');
    await down.close();
    const q = await startTestProxy({
      upstreams: monolithAndService(mono.url, down.url),
      routes: [{ id: 'turn-on', methods: ['POST'], path: '/api/heating/:id/turn-on', target: 'device-management' }],
    });
    try {
      const r = await send(`${q.url}/api/heating/1/turn-on`, { method: 'POST', body: 'x' });
      expect(r.status).toBe(502);
      expect(r.headers['content-type']).toBe('application/problem+json');
      expect(JSON.parse(r.body.toString())).toEqual({
        type: 'urn:warmhouse:problem:proxy-err-upstream-unreachable',
        title: 'upstream unreachable',
        status: 502,
        detail: 'upstream unreachable',
        code: 'PROXY_ERR_UPSTREAM_UNREACHABLE',
        requestId: expect.any(String),
        route: 'turn-on',
        upstream: 'device-management',
        stage: 'connect',
      });
      const metrics = await q.proxy.metrics.registry.getSingleMetricAsString('strangler_upstream_errors_total');
      expect(metrics).toMatch(/target="device-management",stage="connect",code="PROXY_ERR_UPSTREAM_UNREACHABLE"} 1/);
    } finally {
      await q.close();
    }
  });

  it('answers 504 when the upstream is slower than its headers timeout, and never hangs', async () => {
    const slow = await startUpstream('slow', () => undefined); // never answers
    const q = await startTestProxy({ upstreams: [{ name: 'monolith', url: slow.url, timeouts: { headersMs: 300 } }] });
    try {
      const t0 = Date.now();
      const r = await send(`${q.url}/slow`);
      expect(Date.now() - t0).toBeLessThan(3_000);
      expect(r.status).toBe(504);
      expect(JSON.parse(r.body.toString())).toMatchObject({
        code: 'PROXY_ERR_UPSTREAM_TIMEOUT',
        route: '(default)',
        upstream: 'monolith',
        stage: 'response-headers',
      });
    } finally {
      await q.close();
      await slow.close();
    }
  });

  it('cuts the client connection when the upstream breaks mid-body (a truncated body never looks complete)', async () => {
    const broken = await startUpstream('broken', (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 50);
    });
    const q = await startTestProxy({ upstreams: [{ name: 'monolith', url: broken.url }] });
    try {
      await expect(send(`${q.url}/b`)).rejects.toThrow(/aborted|socket hang up|ECONNRESET/);
    } finally {
      await q.close();
      await broken.close();
    }
  });

  it('aborts the upstream request when the client goes away', async () => {
    let upstreamClosed = false;
    const hang = await startUpstream('hang', (_req, res) => {
      res.on('close', () => (upstreamClosed = true));
    });
    const q = await startTestProxy({ upstreams: [{ name: 'monolith', url: hang.url }] });
    try {
      const req = http.request(`${q.url}/hang`, { agent: false });
      req.on('error', () => undefined);
      req.end();
      await waitFor('upstream got the request', () => (hang.seen.length === 1 ? true : undefined), {
        timeoutMs: 3_000,
        intervalMs: 10,
      });
      req.destroy();
      await waitFor('upstream request aborted', () => (upstreamClosed ? true : undefined), {
        timeoutMs: 3_000,
        intervalMs: 10,
      });
      await waitFor('nothing in flight', () => (q.proxy.inFlight() === 0 ? true : undefined), {
        timeoutMs: 3_000,
        intervalMs: 10,
      });
    } finally {
      await q.close();
      await hang.close();
    }
  });

  it('streams a large request body without buffering it (backpressure reaches the client)', async () => {
    const total = 64 * 1024 * 1024;
    let release: () => void = () => undefined;
    let received = 0;
    const hash = createHash('sha256');
    const slowReader = await startUpstream('slow-reader', (req, res) => {
      req.pause();
      release = () => {
        req.on('data', (c: Buffer) => {
          received += c.length;
          hash.update(c);
        });
        req.resume();
      };
      req.on('end', () => res.end('done'));
    });
    const q = await startTestProxy({ upstreams: [{ name: 'monolith', url: slowReader.url }] }, { maxBodyBytes: total });
    try {
      const block = randomBytes(1024 * 1024);
      const expected = createHash('sha256');
      let written = 0;
      const req = http.request(`${q.url}/upload`, {
        method: 'POST',
        agent: false,
        headers: { 'content-length': String(total) },
      });
      const reply = new Promise<number>((resolve, reject) => {
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        req.on('error', reject);
      });
      const pump = (): void => {
        while (written < total) {
          expected.update(block);
          written += block.length;
          if (!req.write(block)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
      // The upstream reads nothing: what the client managed to write is bounded by socket buffers, not the body.
      await waitFor('upstream request', () => (slowReader.seen.length === 1 ? true : undefined), {
        timeoutMs: 5_000,
        intervalMs: 10,
      });
      let stable = -1;
      await waitFor(
        'client writes to stall',
        () => {
          const stalled = stable === written;
          stable = written;
          return stalled ? true : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 250 },
      );
      expect(written).toBeLessThan(total / 2);
      release();
      expect(await reply).toBe(200);
      expect(received).toBe(total);
      expect(hash.digest('hex')).toBe(expected.digest('hex'));
    } finally {
      await q.close();
      await slowReader.close();
    }
  }, 30_000);

  it('streams a large response body with backpressure to the upstream', async () => {
    const total = 64 * 1024 * 1024;
    let sent = 0;
    const block = Buffer.alloc(1024 * 1024, 7);
    const big = await startUpstream('big', (_req, res) => {
      res.writeHead(200, { 'content-length': String(total) });
      const pump = (): void => {
        while (sent < total) {
          sent += block.length;
          if (!res.write(block)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const q = await startTestProxy({ upstreams: [{ name: 'monolith', url: big.url }] });
    try {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
        http.get(`${q.url}/big`, { agent: false }, resolve).on('error', reject),
      );
      res.pause();
      let stable = -1;
      await waitFor(
        'upstream writes to stall',
        () => {
          const stalled = stable === sent;
          stable = sent;
          return stalled ? true : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 250 },
      );
      expect(sent).toBeLessThan(total / 2);
      let got = 0;
      res.on('data', (c: Buffer) => (got += c.length));
      res.resume();
      await new Promise((resolve) => res.on('end', resolve));
      expect(got).toBe(total);
    } finally {
      await q.close();
      await big.close();
    }
  }, 30_000);

  it('passes WebSocket upgrades through to the routed upstream and relays frames both ways', async () => {
    const ws = await startUpstream('ws');
    ws.server.on('upgrade', (req, socket) => {
      const accept = createHash('sha1')
        .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Seen-Path: ${req.url}\r\n\r\n`,
      );
      socket.on('data', (c: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), c])));
      socket.on('end', () => socket.end());
    });
    const q = await startTestProxy({
      upstreams: monolithAndService(mono.url, ws.url),
      routes: [{ id: 'live', path: '/api/live/*', target: 'device-management' }],
    });
    try {
      const socket = net.connect(q.port, '127.0.0.1');
      let out = '';
      socket.on('data', (c: Buffer) => (out += c.toString('latin1')));
      socket.write(
        'GET /api/live/feed?x=1 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      await waitFor('101', () => (out.includes('\r\n\r\n') ? true : undefined), { timeoutMs: 3_000, intervalMs: 10 });
      expect(out).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
      expect(out).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
      expect(out).toContain('X-Seen-Path: /api/live/feed?x=1');
      socket.write('frame-1');
      await waitFor('echo', () => (out.includes('echo:frame-1') ? true : undefined), {
        timeoutMs: 3_000,
        intervalMs: 10,
      });
      socket.destroy();
      expect(mono.seen).toHaveLength(0);
    } finally {
      await q.close();
      await ws.close();
    }
  });

  it('passes an upstream refusal of an upgrade through unchanged, and answers 502 when the upstream is down', async () => {
    const raw = await rawExchange(
      p.port,
      'GET /no-ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
      1_000,
    );
    expect(statusOf(raw)).toBe(200); // the tagging upstream ignores the upgrade and answers normally
    expect(raw).toContain('"upstream":"monolith"');
    const down = await startUpstream('down');
    await down.close();
    const q = await startTestProxy({ upstreams: [{ name: 'monolith', url: down.url }] });
    try {
      const r = await rawExchange(
        q.port,
        'GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
      );
      expect(statusOf(r)).toBe(502);
      expect(jsonBodyOf(r)).toMatchObject({
        code: 'PROXY_ERR_UPSTREAM_UNREACHABLE',
        upstream: 'monolith',
        stage: 'upgrade',
      });
    } finally {
      await q.close();
    }
  });

  it('forwards response trailers of a chunked response', async () => {
    const up = await startUpstream('trailers', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
      res.write('body');
      res.addTrailers({ 'x-checksum': 'abc123' });
      res.end();
    });
    const q = await startTestProxy({ upstreams: [{ name: 'monolith', url: up.url }] });
    try {
      const raw = await rawExchange(q.port, 'GET /t HTTP/1.1\r\nHost: h\r\nTE: trailers\r\nConnection: close\r\n\r\n');
      expect(statusOf(raw)).toBe(200);
      expect(raw).toMatch(/\r\n0\r\nx-checksum: abc123\r\n\r\n$/i);
    } finally {
      await q.close();
      await up.close();
    }
  });

  it('lets requests in flight finish on close() while refusing new connections', async () => {
    const slow = await startUpstream('slow-ok', (req, res) => {
      req.resume();
      setTimeout(() => res.end('late'), 300);
    });
    const q = await startTestProxy({ upstreams: [{ name: 'monolith', url: slow.url }] });
    try {
      const pending = send(`${q.url}/slow`);
      await waitFor('request in flight', () => (q.proxy.inFlight() === 1 ? true : undefined), {
        timeoutMs: 3_000,
        intervalMs: 5,
      });
      const closed = q.proxy.close(5_000);
      await expect(send(`${q.url}/new`)).rejects.toThrow(/ECONNREFUSED/);
      const r = await pending;
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe('late');
      await closed;
    } finally {
      await slow.close();
    }
  });

  it('counts requests by route, target and status', async () => {
    await send(`${p.url}/api/heating/5/turn-on`, { method: 'POST' });
    const text = await p.proxy.metrics.registry.getSingleMetricAsString('strangler_requests_total');
    expect(text).toMatch(/strangler_requests_total{route="turn-on",target="device-management",status="200"} \d+/);
    const hist = await p.proxy.metrics.registry.getSingleMetricAsString('strangler_request_duration_seconds');
    expect(hist).toMatch(/strangler_request_duration_seconds_count{route="turn-on",target="device-management"} \d+/);
  });
});
