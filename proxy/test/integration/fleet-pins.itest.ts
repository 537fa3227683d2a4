import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createApp as createMonolithApp } from '@warmhouse/monolith-standin';
import { waitFor } from '@warmhouse/shared';
import {
  insertHeating,
  startService,
  testEnvironment,
  testLogger,
  untilDevice,
  type TestEnvironment,
} from '../../../extracted/device-management/test/integration/support';
import { prepareControlDatabase } from '../../src/control/prepare';
import { percentile, startProxyProcess, type ProxyProcess } from './fleet-support';

const TOKEN = 'fleet-pins-token-0123456789';
const PAIRS = 1_000;

/**
 * Read-your-writes across the fleet: a write through one proxy process pins its key for every process, so a read
 * through another process right after the write's answer never sees the old value — while reads are served by
 * device management (fed by CDC) and writes still go to the monolith. Two real proxy processes, the real stack.
 */
describe('read-your-writes pins shared by the proxy fleet', () => {
  let env: TestEnvironment;
  let service: Awaited<ReturnType<typeof startService>>;
  let monolith: Server;
  let dir: string;
  let writer: ProxyProcess;
  let reader: ProxyProcess;
  let processEnv: Record<string, string>;
  let slowPinner: ProxyProcess | undefined;
  let heatingId: number;

  const readThrough = async (p: ProxyProcess) => {
    const res = await fetch(`${p.proxyUrl}/api/heating/${heatingId}`);
    return {
      status: res.status,
      upstream: res.headers.get('x-strangler-upstream'),
      cdc: res.headers.get('x-strangler-cdc'),
      body: (await res.json()) as { on: boolean; targetTemperature: number },
    };
  };

  beforeAll(async () => {
    env = await testEnvironment();
    heatingId = await insertHeating(env.monolith, { on: false, target: 20, current: 18 });
    service = await startService(env.env());
    monolith = createMonolithApp({ pool: env.monolith, logger: testLogger('monolith-standin') }).listen(0, '127.0.0.1');
    await new Promise<void>((resolve, reject) => monolith.once('listening', resolve).once('error', reject));
    await untilDevice(env.db, heatingId, 'synced', (d) => d !== undefined);
    const controlUrl = await prepareControlDatabase(
      env.endpoints.postgres.superuserUrl,
      { user: 'strangler', password: 'strangler-test' },
      { database: 'strangler_pins_test' },
    );
    dir = mkdtempSync(path.join(tmpdir(), 'strangler-fleet-pins-'));
    processEnv = {
      PROXY_ADMIN_TOKEN: TOKEN,
      PROXY_WATCH_ROUTES_FILE: 'false',
      PROXY_CONTROL_DATABASE_URL: controlUrl,
      PROXY_CDC_POLL_MS: '100',
      PROXY_CDC_SOURCE_DATABASE_URL: env.endpoints.postgres.monolithUrl,
      MONOLITH_URL: `http://127.0.0.1:${(monolith.address() as AddressInfo).port}`,
      DEVICE_MANAGEMENT_URL: service.url,
    };
    [writer, reader] = await Promise.all([
      startProxyProcess({ name: 'writer', dir, env: processEnv }),
      startProxyProcess({ name: 'reader', dir, env: processEnv }),
    ]);
    const moved = await fetch(`${writer.adminUrl}/api/routes/heating-get/target`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target: 'device-management', reason: 'fleet pins test' }),
    });
    expect(moved.status).toBe(200);
    await waitFor(
      'heating-get served by device management through the reader',
      async () => {
        const r = await readThrough(reader);
        if (r.upstream === 'device-management') return true;
        const cdc = await fetch(`${reader.adminUrl}/api/cdc`, { headers: { authorization: `Bearer ${TOKEN}` } });
        throw new Error(`read ${JSON.stringify(r)}; reader's /api/cdc ${(await cdc.text()).slice(0, 1500)}`);
      },
      { timeoutMs: 90_000 },
    );
  }, 180_000);

  afterAll(async () => {
    await Promise.all([writer, reader, slowPinner].filter(Boolean).map((p) => p!.process.stop(10_000)));
    if (monolith) await new Promise<void>((resolve) => monolith.close(() => resolve()));
    await service?.stop();
    await env?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`${PAIRS} writes through one process, each read back at once through another: 0 stale reads`, async () => {
    const stale: string[] = [];
    const served = new Map<string, number>();
    const writeMs: number[] = [];
    const readMs: number[] = [];
    for (let i = 0; i < PAIRS; i++) {
      const on = i % 2 === 0;
      const targetTemperature = 15 + (i % 20) * 0.5;
      const t0 = performance.now();
      const put = await fetch(`${writer.proxyUrl}/api/heating/${heatingId}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ on, targetTemperature }),
      });
      await put.text();
      expect(put.status).toBe(200);
      const t1 = performance.now();
      const read = await readThrough(reader);
      readMs.push(performance.now() - t1);
      writeMs.push(t1 - t0);
      const key = `${read.upstream}/${read.cdc ?? 'fresh'}`;
      served.set(key, (served.get(key) ?? 0) + 1);
      if (read.status !== 200 || read.body.on !== on || read.body.targetTemperature !== targetTemperature) {
        stale.push(`#${i}: wrote on=${on} ${targetTemperature}, read ${JSON.stringify(read)}`);
      }
    }
    process.stdout.write(
      `fleet pins: ${PAIRS} pairs, ${stale.length} stale; reads served ${JSON.stringify(Object.fromEntries(served))}; ` +
        `write p50 ${percentile(writeMs, 50).toFixed(1)} ms p99 ${percentile(writeMs, 99).toFixed(1)} ms, ` +
        `read p50 ${percentile(readMs, 50).toFixed(1)} ms p99 ${percentile(readMs, 99).toFixed(1)} ms ` +
        `(load average ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')})\n`,
    );
    expect(stale).toEqual([]);
    expect(served.get('monolith/pinned') ?? 0).toBeGreaterThan(0); // the reader saw the writer's pins
    // once device management has applied the last write, the reader is back on it and sees that write
    const last = await waitFor(
      'the pin to be released',
      async () => {
        const r = await readThrough(reader);
        return r.upstream === 'device-management' ? r : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(last.body.on).toBe((PAIRS - 1) % 2 === 0);
  }, 300_000);
  it('a write of the key through the service releases its shared pin: another process reads it from the service at once', async () => {
    // a third process pins by commit time with a minute of clock skew (no WAL position): its pins hold for their
    // whole lifetime (15 s) whatever device management applies, so only a release can end one early
    const { PROXY_CDC_SOURCE_DATABASE_URL: _wal, ...withoutWal } = processEnv;
    slowPinner = await startProxyProcess({
      name: 'slow-pinner',
      dir,
      env: { ...withoutWal, PROXY_CDC_CLOCK_SKEW_MS: '60000' },
    });
    const put = async (p: ProxyProcess, body: object) => {
      const res = await fetch(`${p.proxyUrl}/api/heating/${heatingId}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      await res.text();
      return { status: res.status, upstream: res.headers.get('x-strangler-upstream') };
    };
    expect(await put(slowPinner, { on: true, targetTemperature: 21 })).toEqual({ status: 200, upstream: 'monolith' });
    expect(await readThrough(reader)).toMatchObject({ upstream: 'monolith', cdc: 'pinned' });

    const moved = await fetch(`${writer.adminUrl}/api/routes/heating-update/target`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target: 'device-management', reason: 'fleet pins test: writes moved' }),
    });
    expect(moved.status).toBe(200);
    // the write through the service: answered by device management, which holds it before the monolith does
    expect(await put(writer, { on: false, targetTemperature: 22.5 })).toEqual({
      status: 200,
      upstream: 'device-management',
    });
    const read = await readThrough(reader);
    expect(read).toMatchObject({ status: 200, upstream: 'device-management', cdc: null });
    expect(read.body).toMatchObject({ on: false, targetTemperature: 22.5 });
  }, 120_000);
});
