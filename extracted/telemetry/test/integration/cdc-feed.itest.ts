import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '@warmhouse/shared';
import { CONTRACT_CHECKS, javaDouble, runContract } from '@warmhouse/monolith-contract';
import { createApp as createStandIn, createFieldSimulator } from '@warmhouse/monolith-standin';
import { Pool } from 'pg';
import { getJson, startService, testEnvironment, testLogger, type TestEnvironment } from './support';

type Running = Awaited<ReturnType<typeof startService>>;

/**
 * The contract checks that send a request to GET/PUT/POST /api/heating/{id}/current-temperature: with the route
 * moved, these are the ones whose outcome depends on the telemetry service.
 */
const CURRENT_TEMPERATURE_CHECKS = [
  'get-current-temperature-is-zero',
  'current-temperature-bare-number',
  'numbers-as-java-doubles',
  'missing-id-500',
  'non-numeric-id-400',
  'wrong-method-405',
  'json-content-type-exact',
];
const CURRENT_TEMPERATURE_PATH = /^\/api\/heating\/[^/]+\/current-temperature$/;

describe('CDC feed: the monolith current_temperature columns become readings; legacy current-temperature route', () => {
  let env: TestEnvironment;
  let svc: Running;
  let monolith: Pool;
  let standIn: Server;
  let standInUrl: string;

  beforeAll(async () => {
    env = await testEnvironment();
    monolith = new Pool({ connectionString: env.endpoints.postgres.monolithUrl, max: 4 });
    svc = await startService(env.env());
    standIn = await new Promise<Server>((resolve) => {
      const s = createStandIn({ pool: monolith, logger: testLogger('standin') }).listen(0, '127.0.0.1', () =>
        resolve(s),
      );
    });
    standInUrl = `http://127.0.0.1:${(standIn.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await svc?.stop();
    await new Promise((resolve) => standIn?.close(resolve));
    await monolith?.end();
    await env?.close();
  });

  const routeText = async (id: number | string) => {
    const res = await fetch(`${svc.url}/api/heating/${id}/current-temperature`);
    return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
  };
  const heatingRows = async () =>
    (
      await monolith.query<{ id: string; current_temperature: number }>(
        'SELECT id, current_temperature FROM heating_systems ORDER BY id',
      )
    ).rows;
  const sensorRows = async () =>
    (
      await monolith.query<{ id: string; current_temperature: number; last_updated: Date }>(
        `SELECT id, current_temperature, last_updated AT TIME ZONE 'UTC' AS last_updated FROM temperature_sensors ORDER BY id`,
      )
    ).rows;

  /** every heating system's route and every sensor's latest equal what the monolith stores now */
  const waitUntilInSync = () =>
    waitFor(
      'telemetry to match the monolith',
      async () => {
        for (const h of await heatingRows()) {
          const r = await routeText(h.id);
          if (r.status !== 200 || r.text !== javaDouble(h.current_temperature)) return undefined;
        }
        for (const s of await sensorRows()) {
          const r = await getJson<{ metrics: Array<{ value: number; measuredAt: string }> }>(
            `${svc.url}/api/v1/telemetry/devices/legacy-sensor-${s.id}/latest`,
          );
          const m = r.body.metrics?.[0];
          if (r.status !== 200 || m?.value !== s.current_temperature) return undefined;
          if (m.measuredAt !== new Date(Math.floor(s.last_updated.getTime())).toISOString()) return undefined;
        }
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );

  it('seeds latest from the snapshot: the legacy route answers what the monolith stores, as a Java double', async () => {
    await waitUntilInSync();
    const first = (await heatingRows())[0]!;
    const r = await routeText(first.id);
    expect(r).toEqual({ status: 200, text: javaDouble(first.current_temperature), type: 'application/json' });
  });

  it('turns simulator writes into history and the legacy route follows them', async () => {
    const simulator = createFieldSimulator({ pool: monolith, ratePerSecond: 0, logger: testLogger('simulator') });
    const before = await sensorRows();
    for (let i = 0; i < 12; i++) await simulator.tick(); // alternating heating and sensor writes
    await simulator.stop();
    await waitUntilInSync();

    // every sensor row the simulator touched: both the old and the new measurement are in the history
    const after = await sensorRows();
    const changed = after.filter((s, i) => s.last_updated.getTime() !== before[i]!.last_updated.getTime());
    expect(changed.length).toBeGreaterThan(0);
    for (const s of changed) {
      const old = before.find((b) => b.id === s.id)!;
      const from = new Date(old.last_updated.getTime() - 1000).toISOString();
      const hist = await getJson<{ items: Array<{ measuredAt: string; value: number }> }>(
        `${svc.url}/api/v1/telemetry/devices/legacy-sensor-${s.id}/metrics/temperature/history?from=${encodeURIComponent(from)}`,
      );
      expect(hist.body.items).toEqual(
        expect.arrayContaining([
          { measuredAt: new Date(old.last_updated).toISOString(), value: old.current_temperature },
          { measuredAt: new Date(s.last_updated).toISOString(), value: s.current_temperature },
        ]),
      );
    }
  });

  it('a known sensor write becomes a reading at last_updated; a heating change becomes a reading at commit time', async () => {
    const sensor = (await sensorRows())[1]!;
    // newer than anything the simulator wrote (latest is the reading with the greatest measuredAt)
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 + 2000);
    await monolith.query(
      'UPDATE temperature_sensors SET current_temperature = 23.75, last_updated = $2 WHERE id = $1',
      [sensor.id, at.toISOString().replace('Z', '')],
    );
    const heating = (await heatingRows())[2]!;
    const written = Date.now();
    await monolith.query('UPDATE heating_systems SET current_temperature = 16.0 WHERE id = $1', [heating.id]);
    await monolith.query('UPDATE heating_systems SET target_temperature = target_temperature + 1 WHERE id = $1', [
      heating.id,
    ]);

    await waitFor('legacy route shows 16.0', async () =>
      (await routeText(heating.id)).text === '16.0' ? true : undefined,
    );
    const hist = await waitFor('sensor history', async () => {
      const r = await getJson<{ items: Array<{ measuredAt: string; value: number }> }>(
        `${svc.url}/api/v1/telemetry/devices/legacy-sensor-${sensor.id}/metrics/temperature/history?order=desc&limit=1`,
      );
      return r.body.items?.[0]?.value === 23.75 ? r.body.items[0] : undefined;
    });
    expect(hist).toEqual({ measuredAt: at.toISOString(), value: 23.75 });

    const { rows } = await env.db.query<{ measured_at: Date; value: number; source: string; idempotency_key: string }>(
      `SELECT measured_at, value, source, idempotency_key FROM read_model.readings
       WHERE device_id = $1 ORDER BY measured_at DESC LIMIT 2`,
      [`legacy-heating-${heating.id}`],
    );
    // the target_temperature update made no reading: the newest is the current_temperature change
    expect(rows[0]).toMatchObject({ value: 16, source: 'cdc', idempotency_key: expect.stringMatching(/^lsn-\d+$/) });
    expect(Math.abs(rows[0]!.measured_at.getTime() - written)).toBeLessThan(5_000);
  });

  it('a heating system created in the monolith appears; once deleted, the route answers 500 like the monolith', async () => {
    const { rows } = await monolith.query<{ id: string }>(
      'INSERT INTO heating_systems (is_on, target_temperature, current_temperature) VALUES (true, 21.0, 19.5) RETURNING id',
    );
    const id = rows[0]!.id;
    await waitFor('new heating system', async () => ((await routeText(id)).text === '19.5' ? true : undefined));
    await monolith.query('DELETE FROM heating_systems WHERE id = $1', [id]);
    const gone = await waitFor('deleted heating system answers 500', async () => {
      const r = await routeText(id);
      return r.status === 500 ? r : undefined;
    });
    expect(JSON.parse(gone.text)).toEqual({
      timestamp: expect.any(String),
      status: 500,
      error: 'Internal Server Error',
      path: `/api/heating/${id}/current-temperature`,
    });
    expect(gone.type).toBe('application/json');
  });

  it('passes the monolith contract with the current-temperature route moved to telemetry', async () => {
    await waitUntilInSync();
    const telemetryUrl = new URL(svc.url);
    const routed: string[] = [];
    const proxyFetch: typeof fetch = (input, init) => {
      const url = new URL(String(input));
      if (CURRENT_TEMPERATURE_PATH.test(url.pathname)) {
        routed.push(`${init?.method ?? 'GET'} ${url.pathname}`);
        url.host = telemetryUrl.host;
      }
      return fetch(url, init);
    };
    const outcomes = await runContract({ baseUrl: standInUrl, fetch: proxyFetch });
    const failed = outcomes.filter((o) => !o.passed).map((o) => `${o.name}: ${o.error?.message}`);
    expect(failed).toEqual([]);
    expect(outcomes.map((o) => o.name)).toEqual(expect.arrayContaining(CURRENT_TEMPERATURE_CHECKS));
    expect(routed).toEqual(
      expect.arrayContaining([
        'GET /api/heating/1/current-temperature',
        'GET /api/heating/999999999/current-temperature',
        'GET /api/heating/abc/current-temperature',
        'PUT /api/heating/1/current-temperature',
        'POST /api/heating/1/current-temperature',
      ]),
    );

    // and the one check that needs nothing but the route, against the service alone
    const alone = await runContract(
      { baseUrl: svc.url },
      CONTRACT_CHECKS.filter((c) => c.name === 'current-temperature-bare-number'),
    );
    expect(alone).toEqual([{ name: 'current-temperature-bare-number', passed: true }]);
  });
});
