import type { IncomingMessage } from 'node:http';
import { createLogger, waitFor } from '@warmhouse/shared';
import { UpstreamPools } from './forward/pools';
import { Shadower, type ShadowCopy } from './shadow/shadower';
import { RouteStats } from './stats/route-stats';
import { startTestProxy, type TestProxy } from './testing/harness';
import { startUpstream, tableOf, type TestUpstream, type UpstreamHandler } from './testing/upstreams';

/** Answers with a fixed raw JSON text per path; `slowMs` delays every answer. */
function jsonBy(bodies: Record<string, string>, slow = { ms: 0 }): UpstreamHandler {
  return (req, res, seen) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.bodyBytes = Buffer.concat(chunks).length;
      seen.bodySha256 = Buffer.concat(chunks).toString('utf8'); // the body itself, for the assertions
      const path = req.url!.split('?')[0]!;
      const body = bodies[path] ?? '{}';
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      }, slow.ms);
    });
  };
}

const MONOLITH = {
  '/api/heating/1': '{"id":1,"targetTemperature":20.0,"timestamp":"2026-11-25T10:00:00Z","tags":["a","b"]}',
  '/api/heating/2': '{"id":2,"targetTemperature":21.0,"on":true}',
  '/api/heating/1/turn-on': '{"ok":true}',
};
const SERVICE = {
  '/api/heating/1': '{"id":1,"targetTemperature":20,"timestamp":"2026-11-25T10:00:03Z","tags":["b","a"]}',
  '/api/heating/2': '{"id":2,"targetTemperature":21,"on":false}',
  '/api/heating/1/turn-on': '{"ok":true}',
};

/** What `Shadower.begin` gets for a request to path `/r` of `route`. */
const copyOf = (
  route: ReturnType<typeof tableOf>['routes'][number],
  req: IncomingMessage,
  routeId: string,
  requestId: string,
): ShadowCopy => ({ routeId, shadow: route.shadow!, target: route.upstream, req, path: '/r', requestId });

const shadowCounters = (p: TestProxy, routeId: string) => p.proxy.shadower.route(routeId).counters;
/** Resolves once no shadow copy of the proxy is in flight. */
const shadowSettled = (p: TestProxy) =>
  waitFor('shadow copies done', () => (p.proxy.shadower.pending() === 0 ? true : undefined), {
    timeoutMs: 10_000,
    intervalMs: 10,
  });

describe('shadow mode', () => {
  let mono: TestUpstream;
  let dm: TestUpstream;
  const slow = { ms: 0 };
  let p: TestProxy;
  const shadow = {
    ignore: ['$.timestamp'],
    unorderedArrays: true,
  };

  beforeAll(async () => {
    mono = await startUpstream('monolith', jsonBy(MONOLITH));
    dm = await startUpstream('device-management', jsonBy(SERVICE, slow));
    p = await startTestProxy(
      {
        upstreams: [
          { name: 'monolith', url: mono.url },
          { name: 'device-management', url: dm.url, timeouts: { headersMs: 5_000 } },
          { name: 'dead', url: 'http://127.0.0.1:9' },
        ],
        routes: [
          {
            id: 'get',
            methods: ['GET'],
            path: '/api/heating/:id',
            target: 'device-management',
            mode: 'shadow',
            shadow,
          },
          {
            id: 'turn-on',
            methods: ['POST'],
            path: '/api/heating/:id/turn-on',
            target: 'device-management',
            mode: 'shadow',
            shadow: { dryRun: true },
          },
          {
            id: 'turn-off',
            methods: ['POST'],
            path: '/api/heating/:id/turn-off',
            target: 'device-management',
            mode: 'shadow',
          },
          { id: 'dead', methods: ['GET'], path: '/api/dead/:id', target: 'dead', mode: 'shadow' },
        ],
      },
      { shadowConcurrency: 4 },
    );
  });
  afterAll(async () => {
    await p.close();
    await mono.close();
    await dm.close();
  });
  beforeEach(() => {
    slow.ms = 0;
    mono.seen.length = 0;
    dm.seen.length = 0;
  });

  const counters = (id: string) => shadowCounters(p, id);
  const settled = () => shadowSettled(p);

  it('the client gets the monolith; equal answers under the noise rules (timestamp, 20.0 vs 20, array order) count as equal', async () => {
    const res = await fetch(`${p.url}/api/heating/1`);
    expect(await res.text()).toBe(MONOLITH['/api/heating/1']);
    expect(res.headers.get('x-strangler-upstream')).toBe('monolith');
    await settled();
    expect(dm.seen.map((s) => s.url)).toEqual(['/api/heating/1']);
    expect(counters('get')).toMatchObject({ compared: 1, equal: 1, different: 0 });
  });

  it('different answers are counted and kept with both bodies and the differing paths', async () => {
    await fetch(`${p.url}/api/heating/2`).then((r) => r.text());
    await settled();
    const { counters: c, diffs } = p.proxy.shadower.route('get');
    expect(c.different).toBe(1);
    const last = diffs[diffs.length - 1]!;
    expect(last).toMatchObject({
      method: 'GET',
      url: '/api/heating/2',
      differences: [{ path: '$.on', primary: true, shadow: false }],
      primary: { status: 200, body: MONOLITH['/api/heating/2'] },
      shadow: { upstream: 'device-management', status: 200, body: SERVICE['/api/heating/2'] },
    });
  });

  it('a slow shadow target does not delay the client; a dead one does not change its answer', async () => {
    slow.ms = 3_000;
    const t0 = performance.now();
    const res = await fetch(`${p.url}/api/heating/1`);
    expect(await res.text()).toBe(MONOLITH['/api/heating/1']);
    // had the client waited for the shadow copy, it would have taken at least slow.ms
    expect(performance.now() - t0).toBeLessThan(slow.ms / 2);
    await settled();
    const dead = await fetch(`${p.url}/api/dead/1`);
    expect(dead.status).toBe(200);
    await settled();
    expect(counters('dead')).toMatchObject({ serviceErrors: 1, compared: 0 });
  });

  it('bounded: beyond the concurrency limit requests are not shadowed and counted as dropped', async () => {
    slow.ms = 500;
    const before = counters('get').dropped;
    await Promise.all(Array.from({ length: 10 }, () => fetch(`${p.url}/api/heating/1`).then((r) => r.text())));
    expect(counters('get').dropped - before).toBeGreaterThanOrEqual(6);
    await settled();
  });

  it('mutating requests: shadowed with X-Strangler-Dry-Run: 1 when the route says the service supports it, else skipped', async () => {
    const on = await fetch(`${p.url}/api/heating/1/turn-on`, { method: 'POST', body: '{"x":1}' });
    expect(on.status).toBe(200);
    await settled();
    expect(mono.seen.filter((s) => s.method === 'POST')).toHaveLength(1);
    const copied = dm.seen.filter((s) => s.method === 'POST');
    expect(copied).toHaveLength(1);
    expect(copied[0]!.headers['x-strangler-dry-run']).toBe('1');
    expect(copied[0]!.bodySha256).toBe('{"x":1}');
    expect(counters('turn-on')).toMatchObject({ compared: 1, equal: 1 });

    dm.seen.length = 0;
    await fetch(`${p.url}/api/heating/1/turn-off`, { method: 'POST', body: '{}' }).then((r) => r.text());
    await settled();
    expect(dm.seen).toHaveLength(0);
    expect(counters('turn-off')).toMatchObject({ skipped: 1, compared: 0 });
  });
});

describe('shadow sampling (sampleRate)', () => {
  let mono: TestUpstream;
  let dm: TestUpstream;
  let p: TestProxy;
  /** The injected random source: cycles through `draws`, counting how often it was asked. */
  const draws = [0.1, 0.4, 0.6, 0.9];
  let drawn = 0;
  const random = () => draws[drawn++ % draws.length]!;
  const logger = createLogger('shadow-test', 'silent');

  beforeAll(async () => {
    mono = await startUpstream('monolith', jsonBy(MONOLITH));
    dm = await startUpstream('device-management', jsonBy(SERVICE));
    const pools = new UpstreamPools();
    const stats = new RouteStats();
    const shadower = new Shadower({
      pools,
      logger,
      onResult: (route, result) => stats.shadow(route, result),
      random,
    });
    p = await startTestProxy(
      {
        upstreams: [
          { name: 'monolith', url: mono.url },
          { name: 'device-management', url: dm.url },
        ],
        routes: [
          { id: 'every', methods: ['GET'], path: '/api/heating/:id', target: 'device-management', mode: 'shadow' },
          {
            id: 'quarter',
            methods: ['GET'],
            path: '/api/sampled/:id',
            target: 'device-management',
            mode: 'shadow',
            shadow: { sampleRate: 0.25 },
          },
          {
            id: 'quarter-writes',
            methods: ['POST'],
            path: '/api/sampled/:id/turn-off',
            target: 'device-management',
            mode: 'shadow',
            shadow: { sampleRate: 0.25 },
          },
        ],
      },
      { pools, stats, shadower },
    );
  });
  afterAll(async () => {
    await p.close();
    await mono.close();
    await dm.close();
  });
  beforeEach(() => {
    drawn = 0;
    dm.seen.length = 0;
  });

  const counters = (id: string) => shadowCounters(p, id);
  const settled = () => shadowSettled(p);
  /** Sends the requests one after another, each after the previous copy settled (the bound never interferes). */
  const sequentially = async (paths: string[], init?: RequestInit) => {
    for (const path of paths) {
      const res = await fetch(`${p.url}${path}`, init);
      expect(res.status).toBe(200);
      await res.text();
      await settled();
    }
  };

  it('rate 1 (the default) copies every request without drawing a random number', async () => {
    await sequentially(['/api/heating/1', '/api/heating/2', '/api/heating/1', '/api/heating/2', '/api/heating/1']);
    expect(dm.seen).toHaveLength(5);
    expect(counters('every')).toMatchObject({ compared: 5, sampledOut: 0, dropped: 0 });
    expect(drawn).toBe(0);
  });

  it('rate 0.25 copies the requests whose draw is below 0.25 and counts the rest as sampledOut', async () => {
    await sequentially(Array.from({ length: 8 }, (_, i) => `/api/sampled/${i}`));
    // draws 0.1, 0.4, 0.6, 0.9, 0.1, …: requests 0 and 4 are copied
    expect(dm.seen.map((s) => s.url)).toEqual(['/api/sampled/0', '/api/sampled/4']);
    expect(counters('quarter')).toMatchObject({ compared: 2, sampledOut: 6, dropped: 0, skipped: 0 });
    expect(drawn).toBe(8);
    expect(p.proxy.stats.route('quarter').shadow).toMatchObject({ compared: 2, skipped: 6 });
  });

  it('mutating requests without dryRun are skipped before sampling (no draw, not sampledOut)', async () => {
    await sequentially(['/api/sampled/1/turn-off', '/api/sampled/2/turn-off'], { method: 'POST', body: '{}' });
    expect(dm.seen).toHaveLength(0);
    expect(counters('quarter-writes')).toMatchObject({ skipped: 2, sampledOut: 0 });
    expect(drawn).toBe(0);
  });
});

describe('Shadower sampling order', () => {
  const table = tableOf({
    upstreams: [
      { name: 'monolith', url: 'http://127.0.0.1:9' },
      { name: 'device-management', url: 'http://127.0.0.1:9' },
    ],
    routes: [
      {
        id: 'r',
        path: '/r',
        target: 'device-management',
        mode: 'shadow',
        shadow: { sampleRate: 0.25 },
      },
    ],
  });
  const route = table.routes[0]!;
  const get = { method: 'GET', url: '/r' } as IncomingMessage;

  it('sampling comes before the concurrency bound; with Math.random about a quarter reaches the bound', () => {
    // no copy may start (bound 0), so every request is either sampled out or dropped, and nothing is sent
    const shadower = new Shadower({
      pools: new UpstreamPools(),
      logger: createLogger('shadow-test', 'silent'),
      maxInFlight: 0,
    });
    const n = 4_000;
    for (let i = 0; i < n; i++) expect(shadower.begin(copyOf(route, get, 'r', `id-${i}`))).toBeUndefined();
    const c = shadower.route('r').counters;
    expect(c.sampledOut + c.dropped).toBe(n);
    // binomial(4000, 0.25): mean 1000, standard deviation ≈ 27; ±150 is over 5 deviations
    expect(c.dropped).toBeGreaterThan(850);
    expect(c.dropped).toBeLessThan(1_150);
    expect(c).toMatchObject({ skipped: 0, compared: 0, notCompared: 0 });
  });
});

describe('Shadower copy budget and target circuit', () => {
  const logger = createLogger('shadow-test', 'silent');
  const get = {
    method: 'GET',
    url: '/r',
    headers: { host: 'proxy' },
    rawHeaders: ['Host', 'proxy'],
    socket: { remoteAddress: '127.0.0.1' },
  } as unknown as IncomingMessage;
  /** Plays the baseline's complete answer into a copy's tap, then ends the client's exchange. */
  const answered = (copy: ReturnType<Shadower['begin']>) => {
    copy!.tap.responseHead(200, [Buffer.from('content-type'), Buffer.from('application/json')]);
    copy!.tap.responseChunk(Buffer.from('{"id":1}'));
    copy!.done(true);
  };

  it('copies at most copiesPerSecond a second and counts the rest as overBudget', () => {
    let t = 0;
    const table = tableOf({
      upstreams: [
        { name: 'monolith', url: 'http://127.0.0.1:9' },
        { name: 'device-management', url: 'http://127.0.0.1:9' },
      ],
      routes: [{ id: 'r', path: '/r', target: 'device-management', mode: 'shadow', shadow: { copiesPerSecond: 2 } }],
    });
    const route = table.routes[0]!;
    const shadower = new Shadower({ pools: new UpstreamPools(), logger, now: () => t });
    const burst = () => {
      let copied = 0;
      for (let i = 0; i < 10; i++) {
        const copy = shadower.begin(copyOf(route, get, 'r', `id-${t}-${i}`));
        if (copy) {
          copied++;
          copy.done(false); // the client's exchange failed: nothing sent, the slot is freed
        }
      }
      return copied;
    };
    expect(burst()).toBe(2);
    t += 500;
    expect(burst()).toBe(1);
    t += 1_000;
    expect(burst()).toBe(2);
    expect(shadower.route('r').counters).toMatchObject({ overBudget: 25, notCompared: 5, dropped: 0 });
  });

  describe('a target that fails', () => {
    let target: TestUpstream;
    const behaviour = { dead: true };
    let t = 0;
    let shadower: Shadower;
    let route: ReturnType<typeof tableOf>['routes'][number];
    const transitions: string[] = [];

    beforeAll(async () => {
      target = await startUpstream('device-management', (req, res) => {
        if (behaviour.dead) return void req.socket.destroy(); // connection dropped: the copy fails
        req.resume();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"id":1}');
      });
      const table = tableOf({
        upstreams: [
          { name: 'monolith', url: 'http://127.0.0.1:9' },
          { name: 'device-management', url: target.url, breaker: { failures: 3, openMs: 2_000 } },
        ],
        routes: [{ id: 'r', path: '/r', target: 'device-management', mode: 'shadow' }],
      });
      route = table.routes[0]!;
      shadower = new Shadower({
        pools: new UpstreamPools(),
        logger,
        now: () => t,
        onCircuit: (upstream, state) => transitions.push(`${upstream} ${state}`),
      });
    });
    afterAll(() => target.close());

    const copyOne = async (id: string): Promise<boolean> => {
      const copy = shadower.begin(copyOf(route, get, 'r', id));
      if (!copy) return false;
      answered(copy);
      await waitFor('copy settled', () => (shadower.pending() === 0 ? true : undefined), { timeoutMs: 5_000 });
      return true;
    };

    it('stops copying after consecutive failures, probes once the circuit may half-open, resumes when it answers', async () => {
      for (let i = 0; i < 3; i++) expect(await copyOne(`fail-${i}`)).toBe(true);
      expect(shadower.circuits.snapshot()['device-management']!.state).toBe('open');
      // open: no copies (and no connection attempts) at all
      for (let i = 0; i < 5; i++) expect(await copyOne(`open-${i}`)).toBe(false);
      expect(shadower.route('r').counters).toMatchObject({ serviceErrors: 3, breakerOpen: 5 });
      // after openMs one probe goes; while it runs nothing else does; it fails: open again
      t += 2_000;
      const probe = shadower.begin(copyOf(route, get, 'r', 'probe-1'));
      expect(probe).toBeDefined();
      expect(shadower.begin(copyOf(route, get, 'r', 'beside-probe'))).toBeUndefined();
      answered(probe);
      await waitFor('probe settled', () => (shadower.pending() === 0 ? true : undefined), { timeoutMs: 5_000 });
      expect(shadower.circuits.snapshot()['device-management']!.state).toBe('open');
      // the target is back: the next probe closes the circuit and copies flow again
      behaviour.dead = false;
      t += 2_000;
      expect(await copyOne('probe-2')).toBe(true);
      expect(shadower.circuits.snapshot()['device-management']!.state).toBe('closed');
      for (let i = 0; i < 3; i++) expect(await copyOne(`ok-${i}`)).toBe(true);
      expect(shadower.route('r').counters).toMatchObject({ serviceErrors: 4, breakerOpen: 6, compared: 4 });
      expect(transitions).toEqual([
        'device-management open',
        'device-management half-open',
        'device-management open',
        'device-management half-open',
        'device-management closed',
      ]);
    });
  });

  it('a baseline body over maxBodyBytes is counted as tooLarge, not compared', () => {
    const table = tableOf({
      upstreams: [
        { name: 'monolith', url: 'http://127.0.0.1:9' },
        { name: 'device-management', url: 'http://127.0.0.1:9' },
      ],
      routes: [{ id: 'big', path: '/r', target: 'device-management', mode: 'shadow', shadow: { maxBodyBytes: 4 } }],
    });
    const route = table.routes[0]!;
    const shadower = new Shadower({ pools: new UpstreamPools(), logger });
    const copy = shadower.begin(copyOf(route, get, 'big', 'big-1'));
    answered(copy); // 8 bytes > 4
    expect(shadower.pending()).toBe(0);
    expect(shadower.route('big').counters).toMatchObject({ tooLarge: 1, notCompared: 0, compared: 0 });
  });
});
