import { waitFor } from '@warmhouse/shared';
import { startTestProxy, type TestProxy } from './testing/harness';
import { startUpstream, type TestUpstream } from './testing/upstreams';

interface Answer {
  status: number;
  upstream: string | null;
  fallback: string | null;
  retryAfter: string | null;
  body: string;
}

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, init);
  const body = await res.text();
  return {
    status: res.status,
    upstream: res.headers.get('x-strangler-upstream'),
    fallback: res.headers.get('x-strangler-fallback'),
    retryAfter: res.headers.get('retry-after'),
    body,
  };
}

describe('fallback and circuit breaker (tiny real upstreams)', () => {
  let mono: TestUpstream;
  let dm: TestUpstream;
  /** How the service answers: normally, with a status, or slowly. */
  let behaviour: { status?: number; delayMs?: number } = {};
  let p: TestProxy;

  beforeAll(async () => {
    mono = await startUpstream('monolith');
    dm = await startUpstream('device-management', (req, res) => {
      req.resume();
      req.on('end', () => {
        const answer = () => {
          res.writeHead(behaviour.status ?? 200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ upstream: 'device-management' }));
        };
        if (behaviour.delayMs) setTimeout(answer, behaviour.delayMs);
        else answer();
      });
    });
    p = await startTestProxy({
      upstreams: [
        { name: 'monolith', url: mono.url },
        {
          name: 'device-management',
          url: dm.url,
          timeouts: { connectMs: 500, headersMs: 300, bodyMs: 1_000 },
          breaker: { failures: 3, openMs: 400 },
        },
      ],
      routes: [
        {
          id: 'heating-get',
          methods: ['GET'],
          path: '/api/heating/:id',
          target: 'device-management',
          fallback: { statuses: [404] },
        },
        {
          id: 'turn-on',
          methods: ['POST'],
          path: '/api/heating/:id/turn-on',
          target: 'device-management',
          fallback: {},
        },
        { id: 'no-fallback', methods: ['GET'], path: '/api/plain/:id', target: 'device-management' },
      ],
    });
  });
  afterAll(async () => {
    await p.close();
    await mono.close();
    await dm.close();
  });
  beforeEach(async () => {
    behaviour = {};
    mono.seen.length = 0;
    dm.seen.length = 0;
    // start every test with a closed circuit
    await waitFor(
      'circuit closed',
      async () => {
        const r = await call(`${p.url}/api/heating/1`);
        return r.upstream === 'device-management' && r.fallback === null ? true : undefined;
      },
      { timeoutMs: 3_000, intervalMs: 50 },
    );
    mono.seen.length = 0;
    dm.seen.length = 0;
  });

  it('GET: 5xx, a listed status and a timeout are answered by the monolith; other routes and statuses pass through', async () => {
    behaviour = { status: 500 };
    const five = await call(`${p.url}/api/heating/1`);
    expect(five).toMatchObject({ status: 200, upstream: 'monolith', fallback: 'status 500' });
    behaviour = { status: 404 };
    expect(await call(`${p.url}/api/heating/1`)).toMatchObject({
      status: 200,
      upstream: 'monolith',
      fallback: 'status 404',
    });
    behaviour = { status: 409 };
    expect(await call(`${p.url}/api/heating/1`)).toMatchObject({ status: 409, upstream: 'device-management' });
    behaviour = { status: 500 };
    expect(await call(`${p.url}/api/plain/1`)).toMatchObject({ status: 500, upstream: 'device-management' });
    behaviour = { delayMs: 3_000 }; // undici's timers are coarse (about 1 s): well past headersMs
    expect(await call(`${p.url}/api/heating/1`)).toMatchObject({
      status: 200,
      upstream: 'monolith',
      fallback: 'PROXY_ERR_UPSTREAM_TIMEOUT',
    });
    const text = await p.proxy.metrics.registry.getSingleMetricAsString('strangler_fallbacks_total');
    expect(text).toMatch(
      /strangler_fallbacks_total{route="heating-get",from="device-management",to="monolith",reason="status 500"} 1/,
    );
  }, 15_000);

  it('POST: a 5xx is passed through and sent once; never sent to the monolith', async () => {
    behaviour = { status: 500 };
    const r = await call(`${p.url}/api/heating/1/turn-on`, { method: 'POST', body: '{}' });
    expect(r).toMatchObject({ status: 500, upstream: 'device-management' });
    expect(dm.seen.filter((s) => s.method === 'POST')).toHaveLength(1);
    expect(mono.seen).toHaveLength(0);
  });

  it('kill the service mid-load: GETs keep succeeding, the breaker opens, half-opens and closes when it returns; a POST gets 503 + Retry-After and is sent nowhere', async () => {
    const answers: Answer[] = [];
    let running = true;
    const loop = async () => {
      while (running) answers.push(await call(`${p.url}/api/heating/${answers.length % 50}`));
    };
    const loops = Array.from({ length: 8 }, loop);
    try {
      await waitFor('load reaches the service', () => (dm.seen.length >= 50 ? true : undefined), {
        timeoutMs: 5_000,
        intervalMs: 10,
      });
      const before = p.proxy.breakers.snapshot()['device-management']!.transitions;
      await dm.close(); // the service dies: connections cut, new ones refused
      await waitFor(
        'circuit open',
        () => (p.proxy.breakers.snapshot()['device-management']!.state === 'open' ? true : undefined),
        { timeoutMs: 3_000, intervalMs: 5 },
      );
      const postsToService = dm.seen.filter((s) => s.method === 'POST').length;
      const post = await call(`${p.url}/api/heating/7/turn-on`, { method: 'POST', body: '{"x":1}' });
      expect(post.status).toBe(503);
      expect(Number(post.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(post.body)).toMatchObject({ code: 'PROXY_ERR_CIRCUIT_OPEN' });
      expect(mono.seen.filter((s) => s.method === 'POST')).toHaveLength(0);
      expect(dm.seen.filter((s) => s.method === 'POST')).toHaveLength(postsToService);
      const fromMonolith = answers.length;
      await waitFor('answers from the monolith', () => (answers.length > fromMonolith + 50 ? true : undefined), {
        timeoutMs: 5_000,
        intervalMs: 10,
      });

      const seenBefore = dm.seen.length;
      await new Promise<void>((resolve) => dm.server.listen(dm.port, '127.0.0.1', resolve)); // it comes back
      await waitFor(
        'circuit closed again',
        () => {
          const b = p.proxy.breakers.snapshot()['device-management']!;
          return b.state === 'closed' && b.transitions.closed > before.closed ? b : undefined;
        },
        { timeoutMs: 5_000, intervalMs: 10 },
      );
      await waitFor('load back on the service', () => (dm.seen.length > seenBefore + 20 ? true : undefined), {
        timeoutMs: 5_000,
        intervalMs: 10,
      });
      const after = p.proxy.breakers.snapshot()['device-management']!.transitions;
      expect(after.open).toBeGreaterThan(before.open);
      expect(after['half-open']).toBeGreaterThan(before['half-open']);
    } finally {
      running = false;
      await Promise.all(loops);
    }
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(answers.some((a) => a.upstream === 'monolith' && a.fallback === 'circuit-open')).toBe(true);
    expect(answers.some((a) => a.upstream === 'monolith' && a.fallback?.startsWith('PROXY_ERR_'))).toBe(true);
  }, 30_000);

  it('POST to a dead service with the circuit still closed: 502 + Retry-After, never sent to the monolith', async () => {
    await dm.close();
    try {
      const r = await call(`${p.url}/api/heating/7/turn-on`, { method: 'POST', body: '{}' });
      expect(r.status).toBe(502);
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(mono.seen).toHaveLength(0);
    } finally {
      await new Promise<void>((resolve) => dm.server.listen(dm.port, '127.0.0.1', resolve));
    }
  });
});
