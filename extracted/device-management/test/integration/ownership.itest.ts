import type { Express } from 'express';
import request from 'supertest';
import { IDENTITY_SCOPES, identityHeadersOf } from '@warmhouse/messaging';
import { createApp } from '../../src/app';
import { createMetrics } from '../../src/metrics';
import { testEnvironment, testLogger, type TestEnvironment } from './support';

/**
 * Ownership (DEVICE_MANAGEMENT_REQUIRE_IDENTITY) against a real PostgreSQL database: two users and an operator,
 * named by the identity headers the proxy sets (docs/identity-headers.md).
 */
describe('device management /api/v1/devices with ownership', () => {
  let env: TestEnvironment;
  let app: Express;
  let houseId: string;
  let userA: Record<string, string>;
  let userB: Record<string, string>;
  const operator = identityHeadersOf({ subject: 'ops', scopes: ['openid', IDENTITY_SCOPES.operator] });

  beforeAll(async () => {
    env = await testEnvironment();
    app = await createApp({
      pool: env.db,
      logger: testLogger('ownership'),
      metrics: createMetrics(),
      requireIdentity: true,
    });
    houseId = `house-${env.suffix}`;
    userA = identityHeadersOf({ subject: `alice-${env.suffix}`, scopes: ['openid'] });
    userB = identityHeadersOf({ subject: `bob-${env.suffix}`, scopes: ['openid'] });
  });
  afterAll(() => env?.close());

  const register = (headers: Record<string, string>, name: string) =>
    request(app).post('/api/v1/devices').set(headers).send({ type: 'heating', name, houseId });
  const names = (res: { body: { items: { name: string }[] } }) => res.body.items.map((d) => d.name).sort();

  it('answers 401 with problem details naming the header when no caller is named; the legacy API stays anonymous', async () => {
    const res = await request(app).get('/api/v1/devices').expect(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({
      status: 401,
      code: 'DEVICE_ERR_UNAUTHENTICATED',
      errors: [{ in: 'header', field: 'x-strangler-subject' }],
    });
    await request(app).post('/api/v1/devices').send({ type: 'heating', name: 'x', houseId }).expect(401);
    await request(app).get('/api/v1/devices/00000000-0000-4000-8000-000000000000').expect(401);
    await request(app)
      .get('/api/heating/1')
      .expect((r) => expect(r.status).not.toBe(401));
  });

  it('A sees and changes only A’s devices, B gets 404 for A’s, the operator sees all', async () => {
    const a1 = (await register(userA, 'a1').expect(201)).body;
    const a2 = (await register(userA, 'a2').expect(201)).body;
    const b1 = (await register(userB, 'b1').expect(201)).body;
    expect([a1.ownerId, b1.ownerId]).toEqual([userA['x-strangler-subject'], userB['x-strangler-subject']]);

    expect(names(await request(app).get('/api/v1/devices').set(userA).query({ houseId }).expect(200))).toEqual([
      'a1',
      'a2',
    ]);
    expect(names(await request(app).get('/api/v1/devices').set(userB).query({ houseId }).expect(200))).toEqual(['b1']);
    expect(names(await request(app).get('/api/v1/devices').set(operator).query({ houseId }).expect(200))).toEqual([
      'a1',
      'a2',
      'b1',
    ]);

    await request(app).get(`/api/v1/devices/${a1.id}`).set(userA).expect(200);
    const probed = await request(app).get(`/api/v1/devices/${a1.id}`).set(userB).expect(404);
    expect(probed.body).toMatchObject({ code: 'DEVICE_ERR_NOT_FOUND' });
    await request(app).patch(`/api/v1/devices/${a1.id}/settings`).set(userB).send({ on: true }).expect(404);
    await request(app).post(`/api/v1/devices/${a1.id}/commands`).set(userB).send({ type: 'turn-on' }).expect(404);
    await request(app).delete(`/api/v1/devices/${a2.id}`).set(userB).expect(404);
    const unchanged = (await request(app).get(`/api/v1/devices/${a1.id}`).set(userA).expect(200)).body;
    expect(unchanged).toMatchObject({ version: 1, settings: { on: false } });

    const changed = await request(app).patch(`/api/v1/devices/${a1.id}/settings`).set(userA).send({ on: true });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ version: 2, settings: { on: true } });
    await request(app).delete(`/api/v1/devices/${a2.id}`).set(userA).expect(204);
    await request(app).patch(`/api/v1/devices/${b1.id}/settings`).set(operator).send({ on: true }).expect(200);
    await request(app).get(`/api/v1/devices/${b1.id}`).set(operator).expect(200);
  });

  it('records the caller as owner; only an operator may register for someone else', async () => {
    const refused = await request(app)
      .post('/api/v1/devices')
      .set(userA)
      .send({ type: 'heating', name: 'for bob', houseId, ownerId: userB['x-strangler-subject'] })
      .expect(400);
    expect(refused.body.errors).toMatchObject([{ in: 'body', field: 'ownerId' }]);
    const forBob = await request(app)
      .post('/api/v1/devices')
      .set(operator)
      .send({ type: 'heating', name: 'for bob', houseId, ownerId: userB['x-strangler-subject'] })
      .expect(201);
    await request(app).get(`/api/v1/devices/${forBob.body.id}`).set(userB).expect(200);
    await request(app).get(`/api/v1/devices/${forBob.body.id}`).set(userA).expect(404);
  });

  it('refuses a malformed identity field with 401 naming it', async () => {
    const res = await request(app).get('/api/v1/devices').set('X-Strangler-Subject', 'x'.repeat(101)).expect(401);
    expect(res.body.detail).toContain('x-strangler-subject');
  });
});
