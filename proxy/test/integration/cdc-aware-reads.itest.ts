import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp as createMonolithApp } from '@warmhouse/monolith-standin';
import { loadContractDocument, runContract } from '@warmhouse/monolith-contract';
import { waitFor } from '@warmhouse/shared';
import {
  insertHeating,
  startService,
  testEnvironment,
  testLogger,
  untilDevice,
  type TestEnvironment,
} from '../../../extracted/device-management/test/integration/support';
import { startTestStrangler, type TestStrangler } from '../../src/testing/strangler';

const TOKEN = 'cdc-aware-reads-token-0123456789';

/**
 * CDC-aware reads against the real stack: the monolith stand-in on the CDC-captured database, Debezium, Kafka,
 * device management consuming heating_systems and the heartbeat, and the proxy with `heating-get` moved to device
 * management (its `cdc` settings from proxy/routes.yaml) while every write still goes to the monolith.
 */
describe('CDC-aware reads through the proxy', () => {
  let env: TestEnvironment;
  let service: Awaited<ReturnType<typeof startService>>;
  let monolith: Server;
  let monolithUrl: string;
  let strangler: TestStrangler;
  let heatingId: number;
  let connectorPaused = false;

  const admin = async (method: string, target: string, body?: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(`${strangler.adminUrl}${target}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${target} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const get = async (id: number | string = heatingId) => {
    const res = await fetch(`${strangler.proxyUrl}/api/heating/${id}`);
    return {
      status: res.status,
      upstream: res.headers.get('x-strangler-upstream'),
      cdc: res.headers.get('x-strangler-cdc'),
      body: (await res.json()) as { on: boolean; targetTemperature: number },
    };
  };
  const connector = async (action: 'pause' | 'resume') => {
    const { connect, connectorName } = env.endpoints;
    const res = await fetch(`${connect.url}/connectors/${connectorName}/${action}`, { method: 'PUT' });
    const text = await res.text();
    if (res.status !== 202) throw new Error(`${action} answered ${res.status}: ${text}`);
    connectorPaused = action === 'pause';
  };
  const routeCounters = async () => {
    const stats = (await admin('GET', '/api/cdc')) as {
      routes: Record<string, { counters: { service: number; source: Record<string, number>; pinned: number } }>;
      pins: { resolvedLsn: number; resolvedTime: number };
    };
    return {
      route: stats.routes['heating-get']!.counters,
      update: stats.routes['heating-update']!.counters,
      pins: stats.pins,
    };
  };

  beforeAll(async () => {
    env = await testEnvironment();
    heatingId = await insertHeating(env.monolith, { on: false, target: 20, current: 18 });
    service = await startService(env.env());
    monolith = createMonolithApp({ pool: env.monolith, logger: testLogger('monolith-standin') }).listen(0, '127.0.0.1');
    await new Promise<void>((resolve, reject) => monolith.once('listening', resolve).once('error', reject));
    monolithUrl = `http://127.0.0.1:${(monolith.address() as AddressInfo).port}`;
    await untilDevice(env.db, heatingId, 'synced', (d) => d !== undefined);

    strangler = await startTestStrangler({
      name: 'cdc',
      token: TOKEN,
      logger: testLogger('proxy-cdc'),
      env: {
        MONOLITH_URL: monolithUrl,
        DEVICE_MANAGEMENT_URL: service.url,
        PROXY_CDC_POLL_MS: '100',
        PROXY_CDC_SOURCE_DATABASE_URL: env.endpoints.postgres.monolithUrl,
      },
    });
    await admin('PUT', '/api/routes/heating-get/target', {
      target: 'device-management',
      reason: 'CDC-aware reads test',
    });
    // Compiling the contract's OpenAPI document blocks this process (proxy and services included) for seconds on a
    // loaded machine; done here, the keep-alive connections it lets expire are replaced by the polls below.
    await loadContractDocument();
    // the heartbeat watermark reaches device management's /cdc/applied, and the route reads from it
    await waitFor(
      'heating-get served by device management',
      async () => ((await get()).upstream === 'device-management' ? true : undefined),
      { timeoutMs: 90_000 },
    );
  });

  afterAll(async () => {
    if (connectorPaused) await connector('resume').catch(() => undefined);
    await strangler?.stop();
    if (monolith) await new Promise<void>((resolve) => monolith.close(() => resolve()));
    await service?.stop();
    await env?.close();
  });

  it('serves /cdc/applied from device management: heating_systems and the heartbeat watermark, LSNs as strings', async () => {
    const res = await fetch(`${service.url}/cdc/applied`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { service: string; topics: Record<string, Record<string, unknown>> };
    expect(body.service).toBe('device-management');
    for (const topic of [env.endpoints.topics.heatingSystems, env.endpoints.topics.heartbeat]) {
      expect(body.topics[topic]).toEqual({
        lsn: expect.stringMatching(/^\d+$/),
        sourceTsMs: expect.any(Number),
        appliedAtMs: expect.any(Number),
        partition: 0,
        offset: expect.stringMatching(/^\d+$/),
      });
    }
  });

  it('a write through the monolith is read back at once through the route served by device management (20 times)', async () => {
    const before = await routeCounters();
    const mismatches: string[] = [];
    const upstreams = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const on = i % 2 === 0;
      const targetTemperature = 18 + i * 0.5;
      const put = await fetch(`${strangler.proxyUrl}/api/heating/${heatingId}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ on, targetTemperature }),
      });
      await put.text(); // an unread body would keep the connection busy until collected
      expect({ status: put.status, upstream: put.headers.get('x-strangler-upstream') }).toEqual({
        status: 200,
        upstream: 'monolith',
      });
      const read = await get();
      upstreams.add(`${read.upstream}/${read.cdc}`);
      if (read.status !== 200 || read.body.on !== on || read.body.targetTemperature !== targetTemperature) {
        mismatches.push(`#${i}: wrote on=${on} ${targetTemperature}, read ${JSON.stringify(read)}`);
      }
    }
    expect(mismatches).toEqual([]);
    expect(upstreams).toContain('monolith/pinned');
    const after = await routeCounters();
    expect(after.update.pinned - before.update.pinned).toBe(20); // every PUT pinned its heating system
    expect(after.route.source.pinned! - before.route.source.pinned!).toBeGreaterThan(0);
    // once device management has applied the last write (exactly: the heartbeat LSN passed the write's), the key
    // reads from it again, and it shows the write
    const last = await waitFor('the pin to be released', async () => {
      const r = await get();
      return r.upstream === 'device-management' ? r : undefined;
    });
    expect(last.body).toMatchObject({ on: false, targetTemperature: 18 + 19 * 0.5 });
    expect((await routeCounters()).pins.resolvedLsn).toBeGreaterThanOrEqual(20);
  });

  it('the monolith contract suite passes through the proxy with heating-get served by device management', async () => {
    const seen: string[] = [];
    const recordingFetch: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if ((init?.method ?? 'GET') === 'GET') seen.push(res.headers.get('x-strangler-upstream') ?? '(none)');
      return res;
    };
    const outcomes = await runContract({
      baseUrl: strangler.proxyUrl,
      fetch: recordingFetch,
      heatingId,
      missingId: '999999999',
    });
    const failed = outcomes.filter((o) => !o.passed).map((o) => `${o.name}: ${o.error?.message}`);
    expect(failed).toEqual([]);
    expect(outcomes.length).toBeGreaterThan(20);
    expect(seen).toContain('device-management'); // the reads before any write were served by the service
  });

  it('with replication stopped the route is served by the monolith (counted), and by the service once it recovers', async () => {
    const before = await routeCounters();
    await connector('pause');
    const stale = await waitFor(
      'heating-get to fall back to the monolith for lag',
      async () => {
        const r = await get();
        return r.upstream === 'monolith' && r.cdc === 'lag' ? r : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(stale.status).toBe(200);
    const during = await routeCounters();
    expect(during.route.source.lag!).toBeGreaterThan(before.route.source.lag ?? 0);
    const metrics = await fetch(`${strangler.adminUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await metrics.text()).toMatch(
      /strangler_cdc_reads_total\{route="heating-get",served="source",reason="lag"\} [1-9]/,
    );

    await connector('resume');
    await waitFor(
      'heating-get served by device management again',
      async () => ((await get()).upstream === 'device-management' ? true : undefined),
      { timeoutMs: 90_000 },
    );
    expect((await routeCounters()).route.service).toBeGreaterThan(during.route.service);
  });
});
