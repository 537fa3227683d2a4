import request from 'supertest';
import type { Admin } from 'kafkajs';
import type { Pool } from 'pg';
import { createLogger } from '@warmhouse/shared';
import { closedPort, startFakeConnect, statusOf } from '../connectors/fake-connect';
import { createMonitorHandler } from './http';
import { createMonitor } from './monitor';
import type { SlotRow } from './slots';

const TOKEN = 'test-token-0123456789';
const logger = createLogger('cdc-monitor-test', 'silent');

const slotRow: SlotRow = {
  slot_name: 'warmhouse_monolith',
  active: true,
  wal_status: 'reserved',
  restart_lsn: '0/1',
  confirmed_flush_lsn: '0/2',
  retained_wal_bytes: '100',
  flush_lag_bytes: '50',
};

/** A pool answering the slot and heartbeat queries. */
const fakePool = (beatAgeSeconds = 3) =>
  ({
    query: (sql: string) =>
      Promise.resolve({
        rows: sql.includes('pg_replication_slots')
          ? [slotRow]
          : [{ beat_at: new Date(Date.now() - beatAgeSeconds * 1000), age: beatAgeSeconds }],
      }),
  }) as unknown as Pool;

const fakeAdmin = {
  fetchOffsets: () => Promise.resolve([{ topic: 't', partitions: [{ partition: 0, offset: '3' }] }]),
  fetchTopicOffsets: () => Promise.resolve([{ partition: 0, high: '10', low: '0' }]),
} as unknown as Admin;

const appFor = (connectUrl: string, proxyAdmin?: { url?: string; token?: string }) => {
  const monitor = createMonitor({
    connectUrl,
    connectors: ['monolith-heating'],
    pool: fakePool(),
    slots: ['warmhouse_monolith'],
    admin: fakeAdmin,
    consumerGroups: ['svc'],
    topics: ['monolith.public.heating_systems'],
    lastChanges: new Map([
      [
        'monolith.public.heating_systems',
        { topic: 'monolith.public.heating_systems', table: 'public.heating_systems', sourceTsMs: Date.now(), op: 'u' },
      ],
    ]),
    thresholds: { walRetainedAlarmBytes: 1000, freshnessAlarmSeconds: 60, heartbeatAlarmSeconds: 60 },
    logger,
  });
  return createMonitorHandler({ monitor, token: TOKEN, logger, ...(proxyAdmin ? { proxyAdmin } : {}) });
};
const auth = { authorization: `Bearer ${TOKEN}` };

describe('monitor admin API', () => {
  let connect: Awaited<ReturnType<typeof startFakeConnect>>;
  beforeEach(async () => {
    connect = await startFakeConnect([]);
  });
  afterEach(() => connect.close());

  it('answers 404 on the drift check when no service copy is configured', async () => {
    await request(appFor(connect.url)).post('/api/cdc/drift').set(auth).send({}).expect(404);
  });

  it.each(['/api/cdc', '/metrics', '/api/cdc/audit', '/api/cdc/drift'])(
    'answers 401 on %s without the token',
    async (path) => {
      const app = appFor(connect.url);
      await request(app).get(path).expect(401);
      await request(app).get(path).set('authorization', 'Bearer wrong').expect(401);
    },
  );

  it('reports a healthy pipeline as JSON and metrics', async () => {
    connect.setStatuses(statusOf('monolith-heating', 'RUNNING', ['RUNNING']));
    const app = appFor(connect.url);
    const { body } = await request(app).get('/api/cdc').set(auth).expect(200);
    expect(body).toMatchObject({
      healthy: true,
      connectors: [{ name: 'monolith-heating', reachable: true, state: 'RUNNING', healthy: true }],
      slots: { ok: true, value: [{ name: 'warmhouse_monolith', retainedWalBytes: 100, alarms: [] }] },
      lag: { ok: true, value: [{ group: 'svc', topic: 't', partition: 0, committed: 3, end: 10, lag: 7 }] },
      heartbeat: { ok: true, value: { ageSeconds: 3, overThreshold: false } },
    });
    const metrics = await request(app).get('/metrics').set(auth).expect(200);
    expect(metrics.text).toContain('cdc_connector_running{connector="monolith-heating"} 1');
    expect(metrics.text).toContain('cdc_consumer_lag_messages{group="svc",topic="t",partition="0"} 7');
    expect(metrics.text).toContain('cdc_replication_slot_retained_wal_bytes{slot="warmhouse_monolith"} 100');
    expect(metrics.text).toMatch(
      /cdc_table_freshness_seconds\{topic="monolith.public.heating_systems",table="public.heating_systems"\} \d/,
    );
  });

  it('reports an unreachable Connect as UNREACHABLE and not healthy', async () => {
    const app = appFor(`http://127.0.0.1:${await closedPort()}`);
    const { body } = await request(app).get('/api/cdc').set(auth).expect(200);
    expect(body.healthy).toBe(false);
    expect(body.connectors[0]).toMatchObject({ reachable: false, state: 'UNREACHABLE', healthy: false });
    const metrics = await request(app).get('/metrics').set(auth).expect(200);
    expect(metrics.text).toContain('cdc_connector_running{connector="monolith-heating"} 0');
    expect(metrics.text).toContain('cdc_connect_reachable{connector="monolith-heating"} 0');
    expect(metrics.text).toContain('cdc_connector_state{connector="monolith-heating",state="UNREACHABLE"} 1');
  });

  it('reports a FAILED task with its trace', async () => {
    connect.setStatuses(statusOf('monolith-heating', 'RUNNING', ['FAILED', 'boom']));
    const { body } = await request(appFor(connect.url)).get('/api/cdc').set(auth).expect(200);
    expect(body.connectors[0]).toMatchObject({ state: 'RUNNING', healthy: false, error: 'boom' });
  });

  it('restarts failed parts only with a reason, and audits it', async () => {
    connect.setStatuses(statusOf('monolith-heating', 'RUNNING', ['FAILED', 'boom']));
    const app = appFor(connect.url);
    const path = '/api/cdc/connectors/monolith-heating/restart';
    await request(app).post(path).set(auth).send({}).expect(400);
    await request(app).post('/api/cdc/connectors/other/restart').set(auth).send({ reason: 'x' }).expect(404);
    const { body } = await request(app).post(path).set(auth).send({ reason: 'slot freed', actor: 'ops' }).expect(200);
    expect(body).toMatchObject({
      connector: 'monolith-heating',
      outcome: 'restarted',
      reason: 'slot freed',
      actor: 'ops',
    });
    expect(connect.seen.some((r) => r.method === 'POST' && r.path.includes('onlyFailed=true'))).toBe(true);
    const audit = await request(app).get('/api/cdc/audit').set(auth).expect(200);
    expect(audit.body.entries).toHaveLength(1);
  });

  describe('dashboard', () => {
    it('answers the page with 401 and a login form without the token, and refuses a wrong token', async () => {
      const app = appFor(connect.url);
      const page = await request(app).get('/').expect(401);
      expect(page.text).toContain('<form method="post" action="/login">');
      await request(app).post('/login').type('form').send({ token: 'wrong' }).expect(401);
      await request(app).get('/api/dashboard/routes').expect(401);
    });

    it('signs in with the token into a cookie that reads but never changes', async () => {
      connect.setStatuses(statusOf('monolith-heating', 'FAILED'));
      const app = appFor(connect.url);
      const login = await request(app).post('/login').type('form').send({ token: TOKEN }).expect(303);
      const cookie = String(login.headers['set-cookie']);
      expect(cookie).toMatch(/HttpOnly; SameSite=Strict/);
      expect(cookie).not.toContain(TOKEN);
      const session = cookie.split(';')[0]!;
      const page = await request(app).get('/').set('cookie', session).expect(200);
      expect(page.text).toContain('Warm House migration dashboard');
      expect(page.headers['content-security-policy']).toContain("default-src 'self'");
      await request(app).get('/api/cdc').set('cookie', session).expect(200);
      await request(app)
        .post('/api/cdc/connectors/monolith-heating/restart')
        .set('cookie', session)
        .send({ reason: 'csrf?' })
        .expect(401);
    });

    it('relays the proxy routes, or says why it cannot', async () => {
      const proxy = await startFakeConnect([]);
      proxy.failNext('GET', /^\/api\/routes$/, {
        status: 200,
        body: { version: 7, routes: [{ id: 'heating-read', path: '/api/heating/:id', target: 'device-management' }] },
      });
      try {
        const { body } = await request(appFor(connect.url, { url: proxy.url, token: 'p' }))
          .get('/api/dashboard/routes')
          .set(auth)
          .expect(200);
        expect(body).toMatchObject({ ok: true, version: 7, routes: [{ id: 'heating-read' }] });
        expect(proxy.seen[0]).toMatchObject({ method: 'GET', path: '/api/routes' });
      } finally {
        await proxy.close();
      }
      const off = await request(appFor(connect.url)).get('/api/dashboard/routes').set(auth).expect(200);
      expect(off.body).toEqual({ ok: false, error: 'PROXY_ADMIN_URL is not set' });
    });
  });
});
