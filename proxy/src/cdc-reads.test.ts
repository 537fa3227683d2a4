import { createLogger, waitFor } from '@warmhouse/shared';
import { CdcReads } from './cdc/cdc-reads';
import { PinStore } from './cdc/pins';
import { AppliedPoller } from './cdc/poller';
import { ProxyMetrics } from './metrics';
import { startTestProxy, type TestProxy } from './testing/harness';
import { monolithAndService, startUpstream, type TestUpstream } from './testing/upstreams';

const HEATING = 'public.heating_systems';
const logger = createLogger('cdc-reads-test', process.env.TEST_LOG_LEVEL ?? 'silent');

/**
 * CDC-aware reads in the real proxy with tiny real upstreams: a "device management" whose /cdc/applied the test
 * controls, a "monolith"; no database connection, so pins wait for a source commit time (skew margin 0).
 */
describe('CDC-aware reads in the proxy', () => {
  let mono: TestUpstream;
  let dm: TestUpstream;
  let p: TestProxy;
  let cdc: CdcReads;
  /** what device management reports: nothing (503), or the heartbeat watermark at this commit time */
  let appliedUpTo: number | undefined;

  const get = async (id: number) => {
    const res = await fetch(`${p.url}/api/heating/${id}`);
    await res.text();
    return { upstream: res.headers.get('x-strangler-upstream'), cdc: res.headers.get('x-strangler-cdc') };
  };
  const put = async (id: number, status = 200) => {
    const res = await fetch(`${p.url}/api/heating/${id}`, {
      method: 'PUT',
      body: '{}',
      headers: { 'content-type': 'application/json', 'x-answer': String(status) },
    });
    await res.text();
    return res.status;
  };
  const polls = () => dm.seen.filter((s) => s.url === '/cdc/applied').length;
  /** Waits for two more polls of /cdc/applied: the proxy then has what the service reports now. */
  const polledSince = async () => {
    const from = polls();
    await waitFor('two more polls', () => (polls() >= from + 2 ? true : undefined));
  };

  beforeAll(async () => {
    mono = await startUpstream('monolith', (req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(Number(req.headers['x-answer'] ?? 200), { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    dm = await startUpstream('device-management', (req, res) => {
      req.resume();
      if (req.url === '/cdc/applied' && appliedUpTo === undefined) {
        res.writeHead(503).end();
        return;
      }
      const body =
        req.url === '/cdc/applied'
          ? JSON.stringify({
              service: 'device-management',
              topics: {
                'monolith.public.cdc_heartbeat': {
                  lsn: '1000',
                  sourceTsMs: appliedUpTo,
                  appliedAtMs: appliedUpTo,
                  partition: 0,
                  offset: '3',
                },
              },
            })
          : '{}';
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    const metrics = new ProxyMetrics();
    cdc = new CdcReads({
      poller: new AppliedPoller({ intervalMs: 20, timeoutMs: 1_000, logger }),
      pins: new PinStore(100, 15_000),
      settings: {
        topicPrefix: 'monolith',
        heartbeatTable: 'public.cdc_heartbeat',
        staleAfterMs: 60_000,
        clockSkewMs: 0,
      },
      metrics,
      logger,
    });
    const cdcRoute = { tables: [HEATING], key: { param: 'id' } };
    p = await startTestProxy(
      {
        upstreams: monolithAndService(mono.url, dm.url),
        routes: [
          {
            id: 'heating-get',
            methods: ['GET'],
            path: '/api/heating/:id',
            target: 'device-management',
            cdc: { ...cdcRoute, maxLagMs: 60_000, readYourWrites: { pinSeconds: 15 } },
          },
          { id: 'heating-update', methods: ['PUT'], path: '/api/heating/:id', target: 'monolith', cdc: cdcRoute },
          // a write route already moved to the service
          {
            id: 'heating-turn-on',
            methods: ['POST'],
            path: '/api/heating/:id/turn-on',
            target: 'device-management',
            cdc: cdcRoute,
          },
        ],
      },
      { cdc, metrics },
    );
    cdc.sync(p.holder.current);
  });
  afterAll(async () => {
    cdc?.close();
    await p?.close();
    await mono?.close();
    await dm?.close();
  });

  it('reads from the monolith while the service says nothing (unknown), from the service once it reports', async () => {
    appliedUpTo = undefined;
    await polledSince();
    expect(await get(1)).toEqual({ upstream: 'monolith', cdc: 'unknown' });
    appliedUpTo = Date.now();
    await polledSince();
    expect(await get(1)).toEqual({ upstream: 'device-management', cdc: null });
  });

  it('reads from the monolith while the service lags more than maxLagMs', async () => {
    appliedUpTo = Date.now() - 120_000;
    await polledSince();
    expect(await get(1)).toEqual({ upstream: 'monolith', cdc: 'lag' });
    appliedUpTo = Date.now();
    await polledSince();
    expect((await get(1)).upstream).toBe('device-management');
  });

  it('after a write answered by the monolith, reads of that key only stay on the monolith until the service applied it', async () => {
    appliedUpTo = Date.now() - 1_000;
    await polledSince();
    expect(await put(7)).toBe(200);
    expect(await get(7)).toEqual({ upstream: 'monolith', cdc: 'pinned' });
    expect((await get(8)).upstream).toBe('device-management'); // another key
    await polledSince();
    expect((await get(7)).cdc).toBe('pinned'); // the service has not reached the write's commit time
    appliedUpTo = Date.now();
    await waitFor('the pin of key 7 to be released', async () =>
      (await get(7)).upstream === 'device-management' ? true : undefined,
    );
  });

  it('a write the monolith refuses pins nothing', async () => {
    appliedUpTo = Date.now() - 1_000;
    expect(await put(9, 400)).toBe(400);
    expect((await get(9)).upstream).toBe('device-management');
  });

  it('a later write of the key through the service releases its pin: reads go to the service, which holds that write', async () => {
    appliedUpTo = Date.now() - 1_000;
    await polledSince();
    expect(await put(11)).toBe(200);
    expect(await put(12)).toBe(200);
    expect(await get(11)).toEqual({ upstream: 'monolith', cdc: 'pinned' });
    const turnOn = await fetch(`${p.url}/api/heating/11/turn-on`, { method: 'POST' });
    await turnOn.text();
    expect(turnOn.headers.get('x-strangler-upstream')).toBe('device-management');
    // the service has still not applied the monolith write, but it holds the newer one: the source lags it now
    expect(await get(11)).toEqual({ upstream: 'device-management', cdc: null });
    expect(await get(12)).toEqual({ upstream: 'monolith', cdc: 'pinned' }); // another key keeps its pin
  });

  it('counts per route and for the admin API', () => {
    const stats = cdc.stats(p.holder.current) as {
      routes: Record<
        string,
        { counters: { service: number; source: Record<string, number>; pinned: number; released: number } }
      >;
      upstreams: Record<string, { ok: boolean }>;
      pins: { pinned: number; cancelled: number; resolvedTime: number; released: number };
    };
    expect(stats.routes['heating-get']!.counters.source).toMatchObject({
      unknown: expect.any(Number),
      lag: expect.any(Number),
      pinned: expect.any(Number),
    });
    for (const n of Object.values(stats.routes['heating-get']!.counters.source)) expect(n).toBeGreaterThan(0);
    expect(stats.routes['heating-update']!.counters.pinned).toBe(3);
    expect(stats.routes['heating-turn-on']!.counters).toMatchObject({ pinned: 0, released: 1 });
    expect(stats.pins).toMatchObject({ pinned: 4, cancelled: 1, resolvedTime: 3, released: 1 });
    expect(stats.upstreams['device-management']!.ok).toBe(true);
  });
});
