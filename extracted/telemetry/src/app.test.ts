import { createLogger } from '@warmhouse/shared';
import request from 'supertest';
import { createApp } from './app';
import type { ReadModelQueries } from './data/read-models';
import type { Reading } from './domain/reading';
import { telemetryError } from './errors';
import { createOpenApi, loadDocument } from './http/openapi';
import { createMetrics } from './metrics';
import type { IngestProvisioning } from './saga/provisioning';

// openapi-backend compiles the document once per app: slow on a loaded machine
jest.setTimeout(30_000);

const NOW = new Date('2026-06-01T12:00:00.000Z');
const good = {
  deviceId: 'thermo-1',
  metric: 'temperature',
  value: 21.5,
  unit: 'Cel',
  measuredAt: '2026-06-01T11:59:00Z',
};

async function build(opts: { failAppend?: boolean; failLookup?: boolean; legacy?: Record<string, number> } = {}) {
  const key = JSON.stringify(opts);
  const cached = built.get(key);
  if (cached) {
    cached.appended.length = 0;
    cached.lookups.length = 0;
    return cached;
  }
  const made = await make(opts);
  built.set(key, made);
  return made;
}

const built = new Map<string, Awaited<ReturnType<typeof make>>>();

async function make(opts: { failAppend?: boolean; failLookup?: boolean; legacy?: Record<string, number> }) {
  const appended: Reading[][] = [];
  const lookups: string[][] = [];
  const provisioned = new Map<string, IngestProvisioning>([
    ['heater-1', { status: 'provisioned', metrics: ['temperature', 'target_temperature'], retentionDays: 7 }],
    ['gone-1', { status: 'deprovisioned', metrics: ['temperature'], retentionDays: 7 }],
  ]);
  const readModels: ReadModelQueries = {
    latest: async (deviceId) =>
      deviceId === 'thermo-1'
        ? [
            {
              metric: 'temperature',
              value: 21.5,
              unit: 'Cel',
              measuredAt: new Date('2026-06-01T11:59:00Z'),
              source: 'api',
            },
          ]
        : [],
    houseOf: async () => 'house-1',
    seriesUnit: async (deviceId, metric) => (deviceId === 'thermo-1' && metric === 'temperature' ? 'Cel' : undefined),
    raw: async (q) =>
      [0, 1, 2, 3, 4]
        .map((i) => ({ measuredAt: new Date(q.from.getTime() + i * 1000), value: 20 + i }))
        .filter((p) => q.afterMs === undefined || p.measuredAt.getTime() > q.afterMs)
        .slice(0, q.limit),
    buckets: async () => [],
    house: async () => [],
    legacyCurrentTemperature: async (deviceId) => opts.legacy?.[deviceId],
    ping: async () => undefined,
  };
  const document = loadDocument();
  const app = createApp({
    logger: createLogger('telemetry-test', 'silent'),
    metrics: createMetrics(),
    openapi: await createOpenApi(document),
    document,
    commandLog: {
      append: async (readings) => {
        if (opts.failAppend) throw telemetryError('TELEMETRY_ERR_COMMAND_LOG_UNAVAILABLE', 'Kafka did not acknowledge');
        appended.push([...readings]);
        return { records: readings.length };
      },
    },
    readModels,
    provisioning: async (deviceIds) => {
      lookups.push([...deviceIds]);
      if (opts.failLookup) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      return new Map([...provisioned].filter(([id]) => deviceIds.includes(id)));
    },
    limits: { maxBatch: 3, maxBodyBytes: 10_000, window: { maxAgeMs: 24 * 3600_000, maxFutureMs: 300_000 } },
    readiness: () => [{ name: 'database', check: async () => true }],
    now: () => NOW,
  });
  return { app, appended, lookups };
}

describe('POST /api/v1/telemetry', () => {
  it('accepts one reading and a batch with 202 once appended', async () => {
    const { app, appended } = await build();
    await request(app).post('/api/v1/telemetry').send(good).expect(202, { accepted: 1, dryRun: false });
    await request(app)
      .post('/api/v1/telemetry')
      .send({ readings: [good, { ...good, metric: 'humidity', unit: '%RH', value: 40, idempotencyKey: 'k-1' }] })
      .expect(202, { accepted: 2, dryRun: false });
    expect(appended.map((batch) => batch.map((r) => r.metric))).toEqual([['temperature'], ['temperature', 'humidity']]);
  });

  it('publishes nothing on a dry run', async () => {
    const { app, appended } = await build();
    const res = await request(app)
      .post('/api/v1/telemetry')
      .set('X-Strangler-Dry-Run', '1')
      .send({ readings: [good] });
    expect(res.status).toBe(202);
    expect(res.headers['x-strangler-dry-run']).toBe('1');
    expect(res.body).toEqual({ accepted: 1, dryRun: true });
    expect(appended).toEqual([]);
  });

  it.each<[string, unknown, string, RegExp]>([
    ['a non-numeric value', { readings: [good, { ...good, value: 'warm' }] }, 'readings[1].value', /number/],
    [
      'Infinity (1e999)',
      '{"readings":[' + JSON.stringify(good).replace('21.5', '1e999') + ']}',
      'readings[0].value',
      /finite/,
    ],
    ['an unknown metric name shape', { ...good, metric: 'Temperature!' }, 'metric', /pattern/],
    ['a missing field', { deviceId: 'x', metric: 'temperature', value: 1, unit: 'Cel' }, 'measuredAt', /required/],
    ['an unknown property', { ...good, colour: 'red' }, 'colour', /not a known property/],
    ['a far-future time', { ...good, measuredAt: '2999-01-01T00:00:00Z' }, 'measuredAt', /future/],
    ['a bad device id', { readings: [{ ...good, deviceId: '../etc' }] }, 'readings[0].deviceId', /pattern/],
    ['an empty batch', { readings: [] }, 'readings', /fewer than 1/],
    ['a non-object body', [good], '', /reading object/],
  ])('answers 400 problem+json naming the field for %s', async (_name, body, field, message) => {
    const { app, appended } = await build();
    const res = await request(app)
      .post('/api/v1/telemetry')
      .set('Content-Type', 'application/json')
      .send(typeof body === 'string' ? body : JSON.stringify(body));
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('TELEMETRY_ERR_VALIDATION');
    expect(res.body.errors).toEqual(
      expect.arrayContaining([{ in: 'body', field, message: expect.stringMatching(message) }]),
    );
    expect(appended).toEqual([]);
  });

  it('looks provisioning up once per request and accepts unprovisioned devices and provisioned metrics', async () => {
    const { app, appended, lookups } = await build();
    const heater = { ...good, deviceId: 'heater-1' };
    await request(app)
      .post('/api/v1/telemetry')
      .send({ readings: [heater, { ...heater, metric: 'target_temperature', value: 22 }, good] })
      .expect(202, { accepted: 3, dryRun: false });
    expect(lookups).toEqual([['heater-1', 'thermo-1']]);
    expect(appended.map((batch) => batch.length)).toEqual([3]);
  });

  it.each<[string, unknown, string, RegExp]>([
    [
      'a deprovisioned device in a batch',
      { readings: [good, { ...good, deviceId: 'gone-1' }] },
      'readings[1].deviceId',
      /^device gone-1 is deprovisioned/,
    ],
    [
      'a metric the device is not provisioned with',
      { ...good, deviceId: 'heater-1', metric: 'humidity', unit: '%RH', value: 40 },
      'metric',
      /^humidity is not a metric device heater-1 is provisioned with \(temperature, target_temperature\)$/,
    ],
  ])('answers 422 problem+json and publishes nothing for %s', async (_name, body, field, message) => {
    const { app, appended } = await build();
    for (const dryRun of [false, true]) {
      const res = await request(app)
        .post('/api/v1/telemetry')
        .set('X-Strangler-Dry-Run', dryRun ? '1' : '0')
        .send(body as object);
      expect(res.status).toBe(422);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ code: 'TELEMETRY_ERR_NOT_PROVISIONED', status: 422 });
      expect(res.body.detail).toContain(field);
      expect(res.body.errors).toEqual([{ in: 'body', field, message: expect.stringMatching(message) }]);
    }
    expect(appended).toEqual([]);
  });

  it('answers 503 and publishes nothing when provisioning cannot be looked up (database down)', async () => {
    const { app, appended } = await build({ failLookup: true });
    const res = await request(app).post('/api/v1/telemetry').send(good);
    expect([res.status, res.body.code]).toEqual([503, 'TELEMETRY_ERR_UNAVAILABLE']);
    expect(appended).toEqual([]);
  });

  it('checks the input rules (400) before provisioning', async () => {
    const { app, lookups } = await build();
    const res = await request(app)
      .post('/api/v1/telemetry')
      .send({ ...good, deviceId: 'gone-1', measuredAt: '2999-01-01T00:00:00Z' });
    expect([res.status, res.body.code]).toEqual([400, 'TELEMETRY_ERR_VALIDATION']);
    expect(lookups).toEqual([]);
  });

  it('answers 413 over the batch limit and over the byte limit', async () => {
    const { app } = await build();
    const res = await request(app)
      .post('/api/v1/telemetry')
      .send({ readings: [good, good, good, good] });
    expect(res.status).toBe(413);
    expect(res.body.errors).toEqual([
      { in: 'body', field: 'readings', message: 'must have at most 3 readings (got 4)' },
    ]);
    const big = await request(app)
      .post('/api/v1/telemetry')
      .send({ readings: [{ ...good, deviceId: 'x'.repeat(20_000) }] });
    expect(big.status).toBe(413);
    expect(big.body.code).toBe('TELEMETRY_ERR_BATCH_TOO_LARGE');
  });

  it('answers 400 for malformed JSON, 415 for another media type, 503 when Kafka does not acknowledge', async () => {
    const { app } = await build();
    const malformed = await request(app)
      .post('/api/v1/telemetry')
      .set('Content-Type', 'application/json')
      .send('{"readings": [');
    expect([malformed.status, malformed.body.code]).toEqual([400, 'TELEMETRY_ERR_MALFORMED_BODY']);
    const text = await request(app).post('/api/v1/telemetry').set('Content-Type', 'text/plain').send('hello');
    expect([text.status, text.body.code]).toEqual([415, 'TELEMETRY_ERR_UNSUPPORTED_MEDIA_TYPE']);
    const down = await build({ failAppend: true });
    const res = await request(down.app).post('/api/v1/telemetry').send(good);
    expect([res.status, res.body.code]).toEqual([503, 'TELEMETRY_ERR_COMMAND_LOG_UNAVAILABLE']);
  });
});

describe('queries', () => {
  it('answers latest, and 404 naming deviceId for an unknown device', async () => {
    const { app } = await build();
    await request(app)
      .get('/api/v1/telemetry/devices/thermo-1/latest')
      .expect(200, {
        deviceId: 'thermo-1',
        houseId: 'house-1',
        metrics: [
          { metric: 'temperature', value: 21.5, unit: 'Cel', measuredAt: '2026-06-01T11:59:00.000Z', source: 'api' },
        ],
      });
    const res = await request(app).get('/api/v1/telemetry/devices/nobody/latest').expect(404);
    expect(res.body.errors).toEqual([{ in: 'path', field: 'deviceId', message: expect.any(String) }]);
  });

  it('pages history with a cursor valid only for the same query', async () => {
    const { app } = await build();
    const url =
      '/api/v1/telemetry/devices/thermo-1/metrics/temperature/history?from=2026-06-01T00:00:00Z&to=2026-06-01T01:00:00Z&limit=2';
    const first = await request(app).get(url).expect(200);
    expect(first.body.items).toEqual([
      { measuredAt: '2026-06-01T00:00:00.000Z', value: 20 },
      { measuredAt: '2026-06-01T00:00:01.000Z', value: 21 },
    ]);
    const second = await request(app).get(`${url}&cursor=${first.body.nextCursor}`).expect(200);
    expect(second.body.items.map((i: { value: number }) => i.value)).toEqual([22, 23]);
    const third = await request(app).get(`${url}&cursor=${second.body.nextCursor}`).expect(200);
    expect([third.body.items.length, third.body.nextCursor]).toEqual([1, null]);
    const wrong = await request(app).get(`${url}&step=1m&cursor=${first.body.nextCursor}`).expect(400);
    expect(wrong.body.code).toBe('TELEMETRY_ERR_BAD_CURSOR');
  });

  it.each<[string, string, string]>([
    ['?step=5m', 'query', 'step'],
    ['?limit=0', 'query', 'limit'],
    ['?from=yesterday', 'query', 'from'],
    ['?from=2026-06-01T02:00:00Z&to=2026-06-01T01:00:00Z', 'query', 'from'],
    ['?colour=red', 'query', 'colour'],
  ])('refuses history%s naming %s.%s', async (qs, part, field) => {
    const { app } = await build();
    const res = await request(app)
      .get(`/api/v1/telemetry/devices/thermo-1/metrics/temperature/history${qs}`)
      .expect(400);
    expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ in: part, field })]));
  });

  it('answers 404 naming metric for a known device without that metric, and problem+json 404/405 elsewhere', async () => {
    const { app } = await build();
    const res = await request(app).get('/api/v1/telemetry/devices/thermo-1/metrics/humidity/history').expect(404);
    expect(res.body.errors[0].field).toBe('metric');
    expect((await request(app).get('/api/v1/telemetry/nothing').expect(404)).body.code).toBe(
      'TELEMETRY_ERR_NO_SUCH_PATH',
    );
    const wrong = await request(app).delete('/api/v1/telemetry/devices/thermo-1/latest').expect(405);
    expect(wrong.headers.allow).toBe('GET');
  });
});

describe('legacy current-temperature', () => {
  it('answers like the monolith', async () => {
    const { app } = await build({ legacy: { 'legacy-heating-1': 21, 'legacy-heating-2': 19.25 } });
    const one = await request(app).get('/api/heating/1/current-temperature').expect(200);
    expect([one.text, one.headers['content-type']]).toEqual(['21.0', 'application/json']);
    expect((await request(app).get('/api/heating/2/current-temperature')).text).toBe('19.25');
    const missing = await request(app).get('/api/heating/3/current-temperature').expect(500);
    expect(missing.body).toEqual({
      timestamp: expect.any(String),
      status: 500,
      error: 'Internal Server Error',
      path: '/api/heating/3/current-temperature',
    });
    expect((await request(app).get('/api/heating/abc/current-temperature')).status).toBe(400);
    expect((await request(app).get('/api/heating/99999999999999999999/current-temperature')).status).toBe(400);
    const put = await request(app).put('/api/heating/1/current-temperature').expect(405);
    expect(put.headers.allow).toBe('GET,HEAD,OPTIONS');
  });
});

describe('health', () => {
  it('answers live and ready', async () => {
    const { app } = await build();
    await request(app).get('/health/live').expect(200);
    await request(app).get('/health/ready').expect(200);
    const metrics = await request(app).get('/metrics').expect(200);
    expect(metrics.text).toContain('telemetry_readings_accepted_total');
    const docs = await request(app).get('/api/v1/telemetry/docs/').expect(200);
    expect(docs.text).toContain('swagger-ui');
    const spec = await request(app).get('/api/v1/telemetry/openapi.json').expect(200);
    expect(spec.body.info.title).toBe('Warm House telemetry');
  });
});
