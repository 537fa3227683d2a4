import type { Express } from 'express';
import request from 'supertest';
import { createApp } from '../../src/app';
import { createMetrics } from '../../src/metrics';
import { deviceEventSchema } from '../../src/domain/events';
import { count, testEnvironment, testLogger, type TestEnvironment } from './support';

/** The new API against a real PostgreSQL database (no Kafka needed: events stop at the outbox here). */
describe('device management /api/v1/devices', () => {
  let env: TestEnvironment;
  let app: Express;
  const house = () => `house-${env.suffix}-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    env = await testEnvironment();
    app = await createApp({ pool: env.db, logger: testLogger('v1-api'), metrics: createMetrics() });
  });
  afterAll(() => env?.close());

  const register = (body: object, headers: Record<string, string> = {}) =>
    request(app).post('/api/v1/devices').set(headers).send(body);

  it('registers a device with defaults, answers 201 with Location, and records device.registered in the outbox', async () => {
    const houseId = house();
    const res = await register({ type: 'heating', name: 'Living room', houseId }).expect(201);
    expect(res.headers.location).toBe(`/api/v1/devices/${res.body.id}`);
    expect(res.body).toMatchObject({
      type: 'heating',
      name: 'Living room',
      houseId,
      ownerId: null,
      status: 'active',
      settings: { on: false, targetTemperature: 20 },
      origin: 'device-management',
      legacyId: null,
      version: 1,
      sync: null,
      deletedAt: null,
    });
    const { rows } = await env.db.query('SELECT payload FROM outbox WHERE aggregate_id = $1', [res.body.id]);
    expect(rows).toHaveLength(1);
    const event = deviceEventSchema.parse(rows[0].payload);
    expect(event).toMatchObject({ type: 'device.registered', origin: 'device-management', deviceId: res.body.id });
    expect(event.requestId).toBe(res.headers['x-request-id']);
    await request(app)
      .get(res.headers.location as string)
      .expect(200, res.body);
  });

  it('lists by house, type and status, paginated with a cursor', async () => {
    const houseId = house();
    const ids: string[] = [];
    for (const [type, name] of [
      ['heating', 'a'],
      ['temperature_sensor', 'b'],
      ['heating', 'c'],
      ['heating', 'd'],
    ] as const) {
      ids.push((await register({ type, name, houseId }).expect(201)).body.id);
    }
    const page1 = await request(app).get('/api/v1/devices').query({ houseId, type: 'heating', limit: 2 }).expect(200);
    expect(page1.body.items.map((d: { name: string }) => d.name)).toEqual(['a', 'c']);
    expect(page1.body.nextCursor).toEqual(expect.any(String));
    const page2 = await request(app)
      .get('/api/v1/devices')
      .query({ houseId, type: 'heating', limit: 2, cursor: page1.body.nextCursor })
      .expect(200);
    expect(page2.body).toMatchObject({ items: [{ name: 'd' }], nextCursor: null });

    await request(app).delete(`/api/v1/devices/${ids[0]}`).expect(204);
    const live = await request(app).get('/api/v1/devices').query({ houseId }).expect(200);
    expect(live.body.items.map((d: { name: string }) => d.name)).toEqual(['b', 'c', 'd']);
    const deleted = await request(app).get('/api/v1/devices').query({ houseId, status: 'deleted' }).expect(200);
    expect(deleted.body.items).toMatchObject([{ id: ids[0], status: 'deleted', deletedAt: expect.any(String) }]);
  });

  it('changes settings and runs commands; each real change bumps the version and emits one event', async () => {
    const { body: d } = await register({ type: 'heating', name: 'Hall', houseId: house() }).expect(201);
    const patched = await request(app)
      .patch(`/api/v1/devices/${d.id}/settings`)
      .send({ targetTemperature: 22.5 })
      .expect(200);
    expect(patched.body).toMatchObject({ settings: { on: false, targetTemperature: 22.5 }, version: 2 });
    const on = await request(app).post(`/api/v1/devices/${d.id}/commands`).send({ type: 'turn-on' }).expect(200);
    expect(on.body).toMatchObject({ settings: { on: true, targetTemperature: 22.5 }, version: 3 });
    const again = await request(app).post(`/api/v1/devices/${d.id}/commands`).send({ type: 'turn-on' }).expect(200);
    expect(again.body.version).toBe(3); // nothing changed: no write, no event
    await request(app)
      .post(`/api/v1/devices/${d.id}/commands`)
      .send({ type: 'set-target-temperature', targetTemperature: 5 })
      .expect(200);
    const { rows } = await env.db.query(
      `SELECT payload->>'type' AS type, payload->'data'->'changed' AS changed FROM outbox WHERE aggregate_id = $1 ORDER BY id`,
      [d.id],
    );
    expect(rows).toEqual([
      { type: 'device.registered', changed: null },
      { type: 'device.settings-changed', changed: ['targetTemperature'] },
      { type: 'device.settings-changed', changed: ['on'] },
      { type: 'device.settings-changed', changed: ['targetTemperature'] },
    ]);
    expect(await count(env.db, 'SELECT count(*) AS n FROM write_backs WHERE device_id = $1', [d.id])).toBe(0);
  });

  describe('bad input → 400 problem+json naming the field', () => {
    const expectProblem = (res: request.Response, status: number, fields: Array<[string, string]>) => {
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status, type: expect.stringMatching(/^urn:warmhouse:problem:/) });
      expect(res.body.errors.map((e: { in: string; field: string }) => [e.in, e.field])).toEqual(
        expect.arrayContaining(fields),
      );
      for (const [, field] of fields) if (field) expect(res.body.detail).toContain(field);
    };

    it.each([
      ['an unknown property', { type: 'heating', name: 'x', houseId: 'h', colour: 'red' }, [['body', 'colour']]],
      ['an invalid type', { type: 'toaster', name: 'x', houseId: 'h' }, [['body', 'type']]],
      ['a missing name', { type: 'heating', houseId: 'h' }, [['body', 'name']]],
      [
        'an out-of-range target temperature',
        { type: 'heating', name: 'x', houseId: 'h', settings: { targetTemperature: 80 } },
        [['body', 'settings.targetTemperature']],
      ],
      [
        'a setting the type does not have',
        { type: 'temperature_sensor', name: 'x', houseId: 'h', settings: { on: true } },
        [['body', 'settings.on']],
      ],
      [
        'several problems at once',
        { type: 'heating', name: '', houseId: 'h', settings: { targetTemperature: 4.9, isOn: true } },
        [
          ['body', 'name'],
          ['body', 'settings.targetTemperature'],
          ['body', 'settings.isOn'],
        ],
      ],
    ] as const)('registering with %s', async (_what, body, fields) => {
      expectProblem(await register(body), 400, fields as unknown as Array<[string, string]>);
    });

    it('malformed JSON, a wrong content type, unknown query parameters, bad ids and bad commands', async () => {
      expectProblem(
        await request(app).post('/api/v1/devices').set('Content-Type', 'application/json').send('{"type":'),
        400,
        [['body', '']],
      );
      expectProblem(await request(app).post('/api/v1/devices').set('Content-Type', 'text/plain').send('hello'), 415, [
        ['header', 'content-type'],
      ]);
      expectProblem(await request(app).get('/api/v1/devices').query({ colour: 'red' }), 400, [['query', 'colour']]);
      expectProblem(await request(app).get('/api/v1/devices').query({ limit: 1000 }), 400, [['query', 'limit']]);
      expectProblem(await request(app).get('/api/v1/devices').query({ cursor: 'bm9wZQ' }), 400, [['query', 'cursor']]);
      expectProblem(await request(app).get('/api/v1/devices/not-a-uuid'), 400, [['path', 'deviceId']]);
      const { body: d } = await register({ type: 'heating', name: 'x', houseId: house() }).expect(201);
      expectProblem(
        await request(app).post(`/api/v1/devices/${d.id}/commands`).send({ type: 'set-target-temperature' }),
        400,
        [['body', 'targetTemperature']],
      );
      expectProblem(
        await request(app).post(`/api/v1/devices/${d.id}/commands`).send({ type: 'turn-on', targetTemperature: 20 }),
        400,
        [['body', 'targetTemperature']],
      );
      expectProblem(await request(app).patch(`/api/v1/devices/${d.id}/settings`).send({}), 400, [['body', '']]);
    });

    it('unknown ids answer 404, unsupported changes 409, unknown paths 404 and wrong methods 405, all problem+json', async () => {
      const missing = '00000000-0000-4000-8000-000000000000';
      for (const res of [
        await request(app).get(`/api/v1/devices/${missing}`),
        await request(app).patch(`/api/v1/devices/${missing}/settings`).send({ on: true }),
        await request(app).post(`/api/v1/devices/${missing}/commands`).send({ type: 'turn-on' }),
        await request(app).delete(`/api/v1/devices/${missing}`),
      ]) {
        expect(res.status).toBe(404);
        expect(res.body).toMatchObject({ code: 'DEVICE_ERR_NOT_FOUND', instance: expect.stringContaining(missing) });
      }
      const { body: sensor } = await register({ type: 'temperature_sensor', name: 's', houseId: house() }).expect(201);
      const res = await request(app).post(`/api/v1/devices/${sensor.id}/commands`).send({ type: 'turn-on' });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: 'DEVICE_ERR_UNSUPPORTED_FOR_TYPE', errors: [{ field: 'on' }] });
      expect((await request(app).get('/api/v1/nothing-here')).body).toMatchObject({
        status: 404,
        code: 'DEVICE_ERR_NO_SUCH_PATH',
      });
      expect((await request(app).put('/api/v1/devices')).body).toMatchObject({ status: 405 });
    });
  });

  it('X-Strangler-Dry-Run: 1 validates and answers the same, but leaves no row, no event and no version change', async () => {
    const houseId = house();
    const before = await count(env.db, 'SELECT count(*) AS n FROM outbox');
    const dry = await register({ type: 'heating', name: 'dry', houseId }, { 'X-Strangler-Dry-Run': '1' }).expect(201);
    expect(dry.headers['x-strangler-dry-run']).toBe('1');
    expect(dry.body).toMatchObject({ name: 'dry', houseId });
    await request(app).get(`/api/v1/devices/${dry.body.id}`).expect(404);
    // a dry run validates like a real request
    expect(
      (await register({ type: 'heating', name: 'dry', houseId, colour: 1 }, { 'X-Strangler-Dry-Run': '1' })).status,
    ).toBe(400);

    const { body: d } = await register({ type: 'heating', name: 'real', houseId }).expect(201);
    const afterRegister = await count(env.db, 'SELECT count(*) AS n FROM outbox');
    expect(afterRegister).toBe(before + 1);
    const dryPatch = await request(app)
      .patch(`/api/v1/devices/${d.id}/settings`)
      .set('X-Strangler-Dry-Run', '1')
      .send({ on: true })
      .expect(200);
    expect(dryPatch.body).toMatchObject({ settings: { on: true }, version: 2 });
    await request(app)
      .post(`/api/v1/devices/${d.id}/commands`)
      .set('X-Strangler-Dry-Run', '1')
      .send({ type: 'turn-on' })
      .expect(200);
    await request(app).delete(`/api/v1/devices/${d.id}`).set('X-Strangler-Dry-Run', '1').expect(204);
    const stored = await request(app).get(`/api/v1/devices/${d.id}`).expect(200);
    expect(stored.body).toMatchObject({ settings: { on: false }, version: 1, status: 'active' });
    expect(await count(env.db, 'SELECT count(*) AS n FROM outbox')).toBe(afterRegister);
    expect(await count(env.db, "SELECT count(*) AS n FROM devices WHERE name = 'dry'")).toBe(0);
  });

  it('serves Swagger UI, the OpenAPI document, health and metrics', async () => {
    const docs = await request(app).get('/docs/').expect(200);
    expect(docs.text).toContain('swagger-ui');
    const doc = await request(app).get('/api/v1/openapi.json').expect(200);
    expect(doc.body.paths['/api/v1/devices']).toBeDefined();
    await request(app).get('/health/live').expect(200, { status: 'live' });
    await request(app)
      .get('/health/ready')
      .expect(200, { status: 'ready', checks: { database: 'ready' } });
    const metrics = await request(app).get('/metrics').expect(200);
    expect(metrics.text).toMatch(
      /device_management_http_requests_total\{method="POST",route="\/api\/v1 registerDevice",status="201"\} \d+/,
    );
  });
});
