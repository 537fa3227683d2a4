import { writeFileSync } from 'node:fs';
import { createLogger } from '@warmhouse/shared';
import request from 'supertest';
import { stringify } from 'yaml';
import { loadProxyConfig } from '../config';
import { ProxyMetrics } from '../metrics';
import type { RunningStrangler } from '../server';
import { RouteTableStore } from '../table/store';
import { createStranglerFixture, type StranglerFixture } from '../testing/strangler';
import { startUpstream, type TestUpstream } from '../testing/upstreams';
import { createAdminApp } from './app';

const TOKEN = 'test-admin-token-0123456789';
const logger = createLogger('admin-test', 'silent');
const auth = { Authorization: `Bearer ${TOKEN}` };

describe('admin API', () => {
  let fixture: StranglerFixture;
  let routesFile: string;
  let mono: TestUpstream;
  let dm: TestUpstream;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    mono = await startUpstream('monolith');
    dm = await startUpstream('device-management');
  });
  afterAll(async () => {
    await mono.close();
    await dm.close();
  });
  beforeEach(() => {
    fixture = createStranglerFixture({
      name: 'admin',
      token: TOKEN,
      logger,
      routes: {
        upstreams: [
          { name: 'monolith', url: '${MONOLITH_URL}' },
          { name: 'device-management', url: '${DEVICE_MANAGEMENT_URL}' },
        ],
        routes: [
          { id: 'turn-on', methods: ['POST'], path: '/api/heating/:id/turn-on', target: 'monolith', notes: 'n' },
          { id: 'get', methods: ['GET'], path: '/api/heating/:id', target: 'monolith' },
        ],
      },
      env: { MONOLITH_URL: mono.url, DEVICE_MANAGEMENT_URL: dm.url },
    });
    routesFile = fixture.routesFile!;
    env = fixture.env;
  });
  afterEach(() => fixture.remove());

  const start = (extra: NodeJS.ProcessEnv = {}): Promise<RunningStrangler> => fixture.start(extra);

  it('refuses to start without a token unless the insecure-dev flag is set', async () => {
    expect(() => loadProxyConfig({ ...env, PROXY_ADMIN_TOKEN: undefined })).toThrow(/PROXY_ADMIN_TOKEN: not set/);
    expect(() => loadProxyConfig({ ...env, PROXY_ADMIN_TOKEN: 'short' })).toThrow(
      /PROXY_ADMIN_TOKEN: must be at least 16/,
    );
    const store = await RouteTableStore.open({ routesFile, env, logger, now: () => new Date() });
    expect(() => createAdminApp({ store, metrics: new ProxyMetrics(), logger })).toThrow(
      expect.objectContaining({ code: 'PROXY_ERR_ADMIN_TOKEN_MISSING' }),
    );
    const open = createAdminApp({ store, metrics: new ProxyMetrics(), logger, insecureDev: true });
    return request(open).get('/api/routes').expect(200);
  });

  it('answers 401 without a token, with a wrong token, or with a malformed header; health, readiness and docs are open', async () => {
    const s = await start();
    try {
      const admin = request(s.adminUrl);
      for (const headers of [
        {},
        { Authorization: 'Bearer wrong-token-0123456789' },
        { Authorization: TOKEN },
        { Authorization: `Basic ${TOKEN}` },
      ]) {
        const r = await admin.get('/api/routes').set(headers).expect(401);
        expect(r.headers['content-type']).toBe('application/problem+json');
        expect(r.body).toEqual(expect.objectContaining({ code: 'PROXY_ERR_UNAUTHORIZED', status: 401 }));
      }
      await admin.put('/api/routes/turn-on/target').send({ target: 'device-management', reason: 'x' }).expect(401);
      await admin.get('/metrics').expect(401);
      await admin.get('/health').expect(200, { status: 'ok' });
      await admin.get('/ready').expect(200);
      const doc = await admin.get('/openapi.json').expect(200);
      expect(doc.body.paths['/api/routes/{id}/target'].put).toBeDefined();
      expect(doc.body.components.schemas.Route.properties.target).toBeDefined();
      const ui = await admin.get('/docs/').expect(200);
      expect(ui.text).toContain('swagger-ui');
    } finally {
      await s.stop();
    }
  });

  it('is not reachable through the client port', async () => {
    const s = await start();
    try {
      await request(s.proxyUrl).get('/api/routes').set(auth).expect(200);
      expect(mono.seen.at(-1)!.url).toBe('/api/routes'); // it went to the monolith, not to the admin API
    } finally {
      await s.stop();
    }
  });

  it('lists routes and upstreams, toggles a route with an audit entry, and the proxy follows at once', async () => {
    const s = await start();
    try {
      const admin = request(s.adminUrl);
      const list = await admin.get('/api/routes').set(auth).expect(200);
      expect(list.body).toMatchObject({
        version: 1,
        defaultTarget: 'monolith',
        routes: [{ id: 'turn-on', target: 'monolith' }, { id: 'get' }],
      });
      const ups = await admin.get('/api/upstreams').set(auth).expect(200);
      expect(ups.body.upstreams).toEqual([
        expect.objectContaining({ name: 'monolith', origin: mono.url, routes: ['turn-on', 'get'] }),
        expect.objectContaining({ name: 'device-management', origin: dm.url, routes: [] }),
      ]);

      const toggled = await admin
        .put('/api/routes/turn-on/target')
        .set(auth)
        .set('X-Strangler-Actor', 'bob')
        .send({ target: 'device-management', reason: 'extracted service ready' })
        .expect(200);
      expect(toggled.body).toMatchObject({ version: 2, route: { id: 'turn-on', target: 'device-management' } });

      const r = await request(s.proxyUrl).post('/api/heating/3/turn-on').expect(200);
      expect(r.headers['x-strangler-upstream']).toBe('device-management');
      expect(dm.seen.at(-1)!.url).toBe('/api/heating/3/turn-on');

      const audit = await admin.get('/api/audit?route=turn-on').set(auth).expect(200);
      expect(audit.body.entries).toEqual([
        expect.objectContaining({
          actor: 'token:admin',
          declaredActor: 'bob',
          source: 'admin-api',
          action: 'route.retargeted',
          from: 'monolith',
          to: 'device-management',
          reason: 'extracted service ready',
          version: 2,
        }),
      ]);
      const metrics = await admin.get('/metrics').set(auth).expect(200);
      expect(metrics.text).toMatch(/^strangler_route_table_version 2$/m);
      expect(metrics.text).toMatch(/strangler_route_table_changes_total{source="admin-api",result="applied"} 1/);
    } finally {
      await s.stop();
    }
  });

  it('takes If-Match or expectedVersion: a change based on an older version answers 409 naming the current one', async () => {
    const s = await start();
    try {
      const admin = request(s.adminUrl);
      const seen = await admin.get('/api/routes/get').set(auth).expect(200);
      expect(seen.headers.etag).toBe('"1"');
      await admin
        .put('/api/routes/turn-on/target')
        .set(auth)
        .send({ target: 'device-management', reason: 'first' })
        .expect(200);
      const late = await admin
        .patch('/api/routes/get')
        .set(auth)
        .set('If-Match', seen.headers.etag!)
        .send({ target: 'device-management', reason: 'based on version 1' })
        .expect(409);
      expect(late.body).toMatchObject({ code: 'PROXY_ERR_VERSION_CONFLICT', expectedVersion: 1, currentVersion: 2 });
      await admin
        .put('/api/routes/get/target')
        .set(auth)
        .send({ target: 'device-management', reason: 'stale body', expectedVersion: 1 })
        .expect(409);
      await admin
        .put('/api/routes/get/target')
        .set(auth)
        .set('If-Match', 'W/"x"')
        .send({ target: 'device-management', reason: 'bad header' })
        .expect(400);
      const fresh = await admin
        .patch('/api/routes/get')
        .set(auth)
        .set('If-Match', '"2"')
        .send({ target: 'device-management', reason: 'based on version 2' })
        .expect(200);
      expect(fresh.headers.etag).toBe('"3"');
      expect(s.store.current.spec.routes.find((r) => r.id === 'get')!.target).toBe('device-management');
    } finally {
      await s.stop();
    }
  });

  it('rejects an invalid route with 400 naming the field, and leaves the table unchanged', async () => {
    const s = await start();
    try {
      const admin = request(s.adminUrl);
      const bad = await admin
        .put('/api/routes/turn-on')
        .set(auth)
        .set('X-Strangler-Reason', 'try')
        .send({ methods: ['POST'], path: 'api/no-slash', target: 'ghost' })
        .expect(400);
      expect(bad.body.code).toBe('PROXY_ERR_INVALID_TABLE');
      expect(bad.body.issues).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ path: 'path' }),
          expect.objectContaining({ path: 'target', message: expect.stringContaining('unknown upstream "ghost"') }),
        ]),
      );
      expect(bad.body.detail).toMatch(/target: unknown upstream "ghost"/);
      await admin.put('/api/routes/turn-on/target').set(auth).send({ target: 'ghost', reason: 'r' }).expect(400);
      await admin.put('/api/routes/turn-on/target').set(auth).send({ target: 'device-management' }).expect(400); // reason required
      await admin.put('/api/routes/turn-on').set(auth).send({ path: '/x', target: 'monolith' }).expect(400); // X-Strangler-Reason required
      await admin
        .put('/api/routes/turn-on')
        .set(auth)
        .set('X-Strangler-Reason', 'r')
        .set('content-type', 'application/json')
        .send('{bad json')
        .expect(400);
      await admin.put('/api/routes/nope/target').set(auth).send({ target: 'monolith', reason: 'r' }).expect(404);

      const after = await admin.get('/api/routes/turn-on').set(auth).expect(200);
      expect(after.body).toEqual({
        version: 1,
        route: {
          id: 'turn-on',
          methods: ['POST'],
          path: '/api/heating/:id/turn-on',
          target: 'monolith',
          mode: 'forward',
          notes: 'n',
        },
      });
      const table = await admin.get('/api/table').set(auth).expect(200);
      expect(table.body.lastRejected).toMatchObject({ source: 'admin-api' });
      const audit = await admin.get('/api/audit').set(auth).expect(200);
      expect(audit.body.entries.map((e: { action: string }) => e.action)).toEqual(['table.loaded']);
    } finally {
      await s.stop();
    }
  });

  it('creates, replaces and deletes routes (201/200), one audit entry each', async () => {
    const s = await start();
    try {
      const admin = request(s.adminUrl);
      const route = { methods: ['GET'], path: '/api/devices/*', target: 'device-management', notes: 'new API' };
      await admin.put('/api/routes/devices').set(auth).set('X-Strangler-Reason', 'new').send(route).expect(201);
      await admin
        .put('/api/routes/devices')
        .set(auth)
        .set('X-Strangler-Reason', 'notes')
        .send({ ...route, notes: 'changed' })
        .expect(200);
      await admin.delete('/api/routes/devices').set(auth).set('X-Strangler-Reason', 'gone').expect(200);
      await admin.delete('/api/routes/devices').set(auth).set('X-Strangler-Reason', 'gone').expect(404);
      const audit = await admin.get('/api/audit?limit=3').set(auth).expect(200);
      expect(audit.body.entries.map((e: { action: string; reason: string }) => [e.action, e.reason])).toEqual([
        ['route.created', 'new'],
        ['route.updated', 'notes'],
        ['route.deleted', 'gone'],
      ]);
    } finally {
      await s.stop();
    }
  });

  it('keeps the toggled table across a restart (persisted state)', async () => {
    const first = await start();
    await request(first.adminUrl)
      .put('/api/routes/turn-on/target')
      .set(auth)
      .send({ target: 'device-management', reason: 'cut over' })
      .expect(200);
    await first.stop();

    const second = await start();
    try {
      const got = await request(second.adminUrl).get('/api/routes/turn-on').set(auth).expect(200);
      expect(got.body).toMatchObject({ version: 2, route: { target: 'device-management' } });
      const r = await request(second.proxyUrl).post('/api/heating/9/turn-on').expect(200);
      expect(r.headers['x-strangler-upstream']).toBe('device-management');
      const audit = await request(second.adminUrl).get('/api/audit').set(auth).expect(200);
      expect(audit.body.entries.map((e: { action: string }) => e.action)).toEqual(['table.loaded', 'route.retargeted']);
    } finally {
      await second.stop();
    }
  });

  it('reloads the routes file when it is edited (watched) and reports a rejected file', async () => {
    const s = await start({ PROXY_WATCH_ROUTES_FILE: 'true' });
    try {
      const admin = request(s.adminUrl);
      writeFileSync(routesFile, stringify({ upstreams: [{ name: 'monolith', url: '${MONOLITH_URL}' }], routes: [] }));
      const { waitFor } = await import('@warmhouse/shared');
      await waitFor(
        'reload',
        async () => ((await admin.get('/api/routes').set(auth)).body.routes.length === 0 ? true : undefined),
        {
          timeoutMs: 5_000,
          intervalMs: 50,
        },
      );
      writeFileSync(routesFile, 'upstreams: nope\n');
      await waitFor(
        'rejection',
        async () => ((await admin.get('/api/table').set(auth)).body.lastRejected?.source === 'file' ? true : undefined),
        {
          timeoutMs: 5_000,
          intervalMs: 50,
        },
      );
      const table = await admin.get('/api/table').set(auth).expect(200);
      expect(table.body).toMatchObject({
        version: 2,
        routes: [],
        lastRejected: { issues: [expect.objectContaining({ path: 'upstreams' })] },
      });
    } finally {
      await s.stop();
    }
  });
});
