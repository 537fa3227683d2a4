import { waitFor } from '@warmhouse/shared';
import { Kafka, logLevel } from 'kafkajs';
import {
  getJson,
  postJson,
  recordRaw,
  startService,
  testEnvironment,
  waitForProjection,
  type TestEnvironment,
} from './support';

type Running = Awaited<ReturnType<typeof startService>>;

describe('telemetry write side → command log → projector → query API (real Kafka and PostgreSQL)', () => {
  let env: TestEnvironment;
  let svc: Running;
  let topic: string;
  const hour = new Date(Math.floor(Date.now() / 3600_000) * 3600_000 - 2 * 3600_000);
  const at = (seconds: number) => new Date(hour.getTime() + seconds * 1000).toISOString();

  beforeAll(async () => {
    env = await testEnvironment();
    svc = await startService(env.env({ TELEMETRY_ROLES: 'api,projector' }));
    topic = svc.config.TELEMETRY_COMMAND_TOPIC;
  });
  afterAll(async () => {
    await svc?.stop();
    await env?.close();
  });

  const device = (name: string) => `dev-${env.suffix}-${name}`;
  const reading = (deviceId: string, seconds: number, value: number, extra: Record<string, unknown> = {}) => ({
    deviceId,
    metric: 'temperature',
    value,
    unit: 'Cel',
    measuredAt: at(seconds),
    ...extra,
  });

  it('round-trips a known series: raw history, exact minute and hour rollups, latest', async () => {
    const d = device('series');
    const series: Array<[number, number]> = [
      [10, 20],
      [20, 22],
      [50, 21],
      [65, 25],
      [3660, 18],
    ];
    const res = await postJson(`${svc.url}/api/v1/telemetry`, {
      readings: series.map(([s, v]) => reading(d, s, v, { houseId: `house-${env.suffix}` })),
    });
    expect(res).toMatchObject({ status: 202, body: { accepted: 5, dryRun: false } });

    const latest = await waitFor(`latest of ${d}`, async () => {
      const r = await getJson<{ metrics: Array<{ value: number; measuredAt: string }> }>(
        `${svc.url}/api/v1/telemetry/devices/${d}/latest`,
      );
      return r.status === 200 ? r.body : undefined;
    });
    expect(latest).toEqual({
      deviceId: d,
      houseId: `house-${env.suffix}`,
      metrics: [{ metric: 'temperature', value: 18, unit: 'Cel', measuredAt: at(3660), source: 'api' }],
    });
    await waitForProjection(env.db, env.endpoints, topic);

    const range = `from=${encodeURIComponent(at(0))}&to=${encodeURIComponent(at(7200))}`;
    const base = `${svc.url}/api/v1/telemetry/devices/${d}/metrics/temperature/history?${range}`;
    const raw = await getJson<{ items: unknown[]; unit: string; nextCursor: string | null }>(base);
    expect(raw.body.unit).toBe('Cel');
    expect(raw.body.items).toEqual(series.map(([s, v]) => ({ measuredAt: at(s), value: v })));
    expect(raw.body.nextCursor).toBeNull();

    const minutes = await getJson<{ items: unknown[] }>(`${base}&step=1m`);
    expect(minutes.body.items).toEqual([
      { bucket: at(0), min: 20, max: 22, avg: 21, count: 3 },
      { bucket: at(60), min: 25, max: 25, avg: 25, count: 1 },
      { bucket: at(3660), min: 18, max: 18, avg: 18, count: 1 },
    ]);
    const hours = await getJson<{ items: unknown[] }>(`${base}&step=1h`);
    expect(hours.body.items).toEqual([
      { bucket: at(0), min: 20, max: 25, avg: 22, count: 4 },
      { bucket: at(3600), min: 18, max: 18, avg: 18, count: 1 },
    ]);

    // pagination: two per page, newest first, until nextCursor is null
    const seen: unknown[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: unknown[]; nextCursor: string | null } } = await getJson(
        `${base}&order=desc&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(series.map(([s, v]) => ({ measuredAt: at(s), value: v })).reverse());

    const summary = await getJson<Record<string, unknown>>(
      `${svc.url}/api/v1/telemetry/houses/house-${env.suffix}/summary?staleAfterSeconds=60`,
    );
    expect(summary.body).toMatchObject({
      houseId: `house-${env.suffix}`,
      deviceCount: 1,
      metrics: [{ metric: 'temperature', unit: 'Cel', devices: 1, min: 18, max: 18, avg: 18 }],
      staleDevices: [d],
    });
  });

  it('stores duplicates once: same idempotency key, same device+metric+time, and a replayed batch', async () => {
    const d = device('dups');
    const batch = [
      reading(d, 70, 20, { idempotencyKey: 'k-1' }),
      reading(d, 80, 21),
      reading(d, 90, 22, { idempotencyKey: 'k-2' }),
    ];
    expect((await postJson(`${svc.url}/api/v1/telemetry`, { readings: batch })).status).toBe(202);
    // a retried request, the same key at another time, the same time with another value
    expect((await postJson(`${svc.url}/api/v1/telemetry`, { readings: batch })).status).toBe(202);
    const again = [reading(d, 100, 99, { idempotencyKey: 'k-1' }), reading(d, 80, 98)];
    expect((await postJson(`${svc.url}/api/v1/telemetry`, { readings: again })).status).toBe(202);
    await waitForProjection(env.db, env.endpoints, topic);

    const { rows } = await env.db.query(
      `SELECT extract(epoch FROM measured_at)::int - $2::int AS s, value, idempotency_key AS key
       FROM read_model.readings WHERE device_id = $1 ORDER BY measured_at`,
      [d, hour.getTime() / 1000],
    );
    expect(rows).toEqual([
      { s: 70, value: 20, key: 'k-1' },
      { s: 80, value: 21, key: null },
      { s: 90, value: 22, key: 'k-2' },
    ]);
    const minute = await getJson<{ items: unknown[] }>(
      `${svc.url}/api/v1/telemetry/devices/${d}/metrics/temperature/history?from=${encodeURIComponent(at(0))}&to=${encodeURIComponent(at(3600))}&step=1m`,
    );
    expect(minute.body.items).toEqual([{ bucket: at(60), min: 20, max: 22, avg: 21, count: 3 }]);
    const stats = await svc.metrics.registry.getSingleMetricAsString('telemetry_projected_readings_total');
    expect(stats).toMatch(/result="duplicate"\} [1-9]/);
  });

  it('publishes nothing on a dry run and refuses bad input with problem+json naming the field', async () => {
    const d = device('dry');
    const admin = new Kafka({ brokers: env.endpoints.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const total = async () => (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
    try {
      const before = await total();
      const dry = await postJson(`${svc.url}/api/v1/telemetry`, reading(d, 10, 20), { 'X-Strangler-Dry-Run': '1' });
      expect([dry.status, dry.headers.get('x-strangler-dry-run'), dry.body]).toEqual([
        202,
        '1',
        { accepted: 1, dryRun: true },
      ]);
      const bad = await postJson(`${svc.url}/api/v1/telemetry`, {
        readings: [reading(d, 10, 20), reading(d, 20, 21, { measuredAt: '2999-01-01T00:00:00Z' })],
      });
      expect(bad.status).toBe(400);
      expect(bad.body.errors).toEqual([
        { in: 'body', field: 'readings[1].measuredAt', message: expect.stringMatching(/future/) },
      ]);
      const tooMany = await postJson(`${svc.url}/api/v1/telemetry`, {
        readings: Array.from({ length: svc.config.TELEMETRY_MAX_BATCH + 1 }, (_, i) => reading(d, i, 20)),
      });
      expect(tooMany.status).toBe(413);
      expect(await total()).toBe(before);
    } finally {
      await admin.disconnect();
    }
    expect((await getJson(`${svc.url}/api/v1/telemetry/devices/${d}/latest`)).status).toBe(404);
  });

  it('parks a poison record on the dead-letter topic, counts it, and keeps projecting', async () => {
    const d = device('poison');
    const dlq = `${topic}.dlq`;
    const recorder = await recordRaw(env.endpoints.kafka.brokers, dlq);
    const kafka = new Kafka({ brokers: env.endpoints.kafka.brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({
        topic,
        messages: [
          { key: d, value: '{"v":1,"deviceId":' },
          {
            key: d,
            value: JSON.stringify({
              v: 1,
              deviceId: d,
              source: 'api',
              readings: [{ metric: 'temperature', value: 'hot', unit: 'Cel', measuredAt: at(5) }],
            }),
          },
        ],
      });
      expect((await postJson(`${svc.url}/api/v1/telemetry`, reading(d, 10, 19.5))).status).toBe(202);
      const parked = await recorder.until('two dead-lettered records', (all) => (all.length >= 2 ? all : undefined));
      expect(parked.map((m) => [m.key, m.value?.slice(0, 18), m.headers['x-dlq-reason']])).toEqual([
        [d, '{"v":1,"deviceId":', 'malformed'],
        [d, '{"v":1,"deviceId":', 'malformed'],
      ]);
      expect(parked[1]?.headers['x-dlq-error']).toMatch(/^readings\[0\]\.value:/);
      expect(parked[0]?.headers['x-dlq-original-topic']).toBe(topic);
      await waitFor('the reading after the poison', async () => {
        const r = await getJson<{ metrics: Array<{ value: number }> }>(
          `${svc.url}/api/v1/telemetry/devices/${d}/latest`,
        );
        return r.status === 200 && r.body.metrics[0]?.value === 19.5 ? true : undefined;
      });
      expect(await svc.metrics.registry.getSingleMetricAsString('telemetry_dead_lettered_total')).toMatch(
        /origin="command-log"\} 2/,
      );
    } finally {
      await producer.disconnect();
      await recorder.stop();
    }
  });

  it('reports health, readiness and metrics', async () => {
    expect((await getJson(`${svc.url}/health/live`)).status).toBe(200);
    const ready = await getJson<{ status: string; checks: Record<string, string> }>(`${svc.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({
      status: 'ready',
      checks: { database: 'ready', 'command-log': 'ready', projector: 'ready' },
    });
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    expect(metrics).toMatch(/telemetry_readings_accepted_total\{source="api"\} \d+/);
    expect(metrics).toMatch(/telemetry_projection_offset_lag\{partition="0"\} 0/);
    expect(metrics).toMatch(/telemetry_projection_lag_seconds_count \d+/);
    expect(metrics).toMatch(/telemetry_read_model_write_duration_seconds_count \d+/);
  });
});
