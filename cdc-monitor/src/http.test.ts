import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { Admin } from 'kafkajs';
import type { Pool } from 'pg';
import { createLogger } from '@warmhouse/shared';
import { closedPort, startFakeConnect, statusOf } from '../../cdc/src/connectors/fake-connect';
import { CSRF_HEADER, csrfValue } from './dashboard';
import type { DashboardSnapshot } from './dashboard-feed';
import { createMonitorHandler } from './http';
import { createMonitor } from './monitor';
import type { ProxyRoute } from './proxy-admin';
import type { SlotRow } from './slots';
import { startFakeProxyAdmin } from './testing/fake-proxy-admin';

const TOKEN = 'test-token-0123456789';
const PROXY_TOKEN = 'proxy-token-0123456789';
const proxyRoutes = (): ProxyRoute[] => [
  { id: 'heating-read', methods: ['GET'], path: '/api/heating/:id', target: 'monolith' },
  {
    id: 'heating-write',
    methods: ['PUT'],
    path: '/api/heating/:id',
    target: 'device-management',
    mode: 'canary',
    weight: 25,
  },
];
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

const appFor = (connectUrl: string, proxyAdmin?: { url?: string; token?: string }, pushIntervalMs?: number) => {
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
  return createMonitorHandler({
    monitor,
    token: TOKEN,
    logger,
    ...(proxyAdmin ? { proxyAdmin } : {}),
    ...(pushIntervalMs ? { pushIntervalMs } : {}),
  });
};
const auth = { authorization: `Bearer ${TOKEN}` };

describe('monitor admin API', () => {
  let connect: Awaited<ReturnType<typeof startFakeConnect>>;
  beforeEach(async () => {
    connect = await startFakeConnect([]);
  });
  afterEach(() => connect.close());

  it('answers 404 on the drift check when no service copy is configured, as problem details', async () => {
    const off = await request(appFor(connect.url)).post('/api/cdc/drift').set(auth).send({}).expect(404);
    expect(off.headers['content-type']).toBe('application/problem+json');
    expect(off.body).toEqual({
      type: 'urn:warmhouse:problem:cdc-monitor-drift-off',
      title: 'drift check not configured',
      status: 404,
      detail: 'no service copy configured',
      code: 'CDC_MONITOR_DRIFT_OFF',
    });
    const unknown = await request(appFor(connect.url)).get('/api/nope').set(auth).expect(404);
    expect(unknown.body).toMatchObject({ code: 'CDC_MONITOR_NOT_FOUND', status: 404, detail: 'GET /api/nope' });
  });

  it.each(['/api/cdc', '/metrics', '/api/cdc/audit', '/api/cdc/drift'])(
    'answers 401 on %s without the token',
    async (path) => {
      const app = appFor(connect.url);
      const none = await request(app).get(path).expect(401);
      expect(none.headers['content-type']).toBe('application/problem+json');
      expect(none.body).toMatchObject({
        code: 'CDC_MONITOR_UNAUTHORIZED',
        status: 401,
        detail: 'missing or wrong bearer token',
      });
      expect(none.body.signIn).toBeUndefined();
      await request(app).get(path).set('authorization', 'Bearer wrong').expect(401);
    },
  );

  it('reports a healthy pipeline as JSON and metrics', async () => {
    connect.setStatuses(statusOf('monolith-heating', 'RUNNING', ['RUNNING']));
    const app = appFor(connect.url);
    const { body } = await request(app).get('/api/cdc').set(auth).expect(200);
    expect(body).toMatchObject({
      healthy: true,
      problems: [],
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
    expect(body.problems).toEqual(['connector monolith-heating is UNREACHABLE']);
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
    const noReason = await request(app).post(path).set(auth).send({}).expect(400);
    expect(noReason.body).toMatchObject({ code: 'CDC_MONITOR_REASON_REQUIRED', status: 400 });
    const other = await request(app).post('/api/cdc/connectors/other/restart').set(auth).send({ reason: 'x' });
    expect([other.status, other.body.code, other.body.detail]).toEqual([
      404,
      'CDC_MONITOR_UNKNOWN_CONNECTOR',
      'not watched: other',
    ]);
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

    it('relays the proxy routes with their numbers, or says why it cannot', async () => {
      const proxy = await startFakeProxyAdmin(PROXY_TOKEN, proxyRoutes());
      try {
        const { body } = await request(appFor(connect.url, { url: proxy.url, token: PROXY_TOKEN }))
          .get('/api/dashboard/routes')
          .set(auth)
          .expect(200);
        expect(body).toMatchObject({
          ok: true,
          version: 1,
          rows: [{ id: 'heating-read', target: 'monolith', monolith: { p99: 'n/a' } }, { id: 'heating-write' }],
          upstreams: ['monolith', 'device-management'],
          stats: { available: false },
        });
      } finally {
        await proxy.close();
      }
      const off = await request(appFor(connect.url)).get('/api/dashboard/routes').set(auth).expect(200);
      expect(off.body).toEqual({ ok: false, error: 'PROXY_ADMIN_URL is not set' });
    });

    describe('with a proxy admin API', () => {
      let proxy: Awaited<ReturnType<typeof startFakeProxyAdmin>>;
      let server: Server;
      let handler: ReturnType<typeof appFor>;
      let base: string;
      let session: string;
      const csrf = csrfValue(TOKEN);
      beforeEach(async () => {
        connect.setStatuses(statusOf('monolith-heating', 'RUNNING', ['RUNNING']));
        proxy = await startFakeProxyAdmin(PROXY_TOKEN, proxyRoutes());
        handler = appFor(connect.url, { url: proxy.url, token: PROXY_TOKEN }, 200);
        server = createServer(handler);
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        const login = await request(base).post('/login').type('form').send({ token: TOKEN }).expect(303);
        session = String(login.headers['set-cookie']).split(';')[0]!;
      });
      afterEach(async () => {
        handler.close();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await proxy.close();
      });

      it.each([
        ['GET', '/'],
        ['GET', '/dashboard.js'],
        ['GET', '/api/dashboard/snapshot'],
        ['GET', '/api/dashboard/routes'],
        ['GET', '/api/dashboard/audit'],
        ['GET', '/api/dashboard/events'],
        ['POST', '/api/dashboard/routes/heating-read'],
      ])('answers 401 to %s %s without the token', async (method, path) => {
        const res = await fetch(`${base}${path}`, {
          method,
          headers: { 'content-type': 'application/json', cookie: 'cdc_monitor_session=forged' },
          ...(method === 'POST' ? { body: JSON.stringify({ target: 'device-management', reason: 'x' }) } : {}),
        });
        expect(res.status).toBe(401);
        expect(res.headers.get('content-type')).not.toContain('event-stream');
        await res.text();
      });

      it('serves the page with its CSRF value and a script from the same origin only', async () => {
        const page = await request(base).get('/').set('cookie', session).expect(200);
        expect(page.text).toContain(`<meta name="csrf" content="${csrf}">`);
        expect(page.text).toContain('<script src="/dashboard.js"></script>');
        expect(page.headers['content-security-policy']).toContain("script-src 'self';");
        const script = await request(base).get('/dashboard.js').set('cookie', session).expect(200);
        expect(script.headers['content-type']).toMatch(/^text\/javascript/);
        expect(script.text).toContain("new EventSource('/api/dashboard/events')");
      });

      it('changes a route through the proxy with the reason and actor "dashboard"', async () => {
        const path = '/api/dashboard/routes/heating-read';
        const change = { target: 'device-management', mode: 'canary', weight: 10, reason: 'move 10 % of houses' };
        // the cookie alone (what another site could make the browser send) changes nothing
        await request(base).post(path).set('cookie', session).send(change).expect(401);
        await request(base).post(path).set('cookie', session).set(CSRF_HEADER, 'guess').send(change).expect(401);
        expect(proxy.seen.filter((r) => r.method === 'PATCH')).toHaveLength(0);

        const res = await request(base)
          .post(path)
          .set('cookie', session)
          .set(CSRF_HEADER, csrf)
          .send(change)
          .expect(200);
        expect(res.body).toMatchObject({ version: 2, route: { id: 'heating-read', target: 'device-management' } });
        const patch = proxy.seen.find((r) => r.method === 'PATCH');
        expect(patch).toMatchObject({
          path: '/api/routes/heating-read',
          body: { target: 'device-management', mode: 'canary', weight: 10, reason: 'move 10 % of houses' },
          headers: { 'x-strangler-actor': 'dashboard', authorization: `Bearer ${PROXY_TOKEN}` },
        });
        const audit = await request(base).get('/api/dashboard/audit').set('cookie', session).expect(200);
        expect(audit.body.entries[0]).toMatchObject({ actor: 'dashboard', reason: 'move 10 % of houses' });
        // the bearer token works too
        await request(base)
          .post('/api/dashboard/routes/heating-write')
          .set(auth)
          .send({ target: 'monolith', reason: 'roll back' })
          .expect(200);
      });

      it('requires a reason and something to change, as problem+json', async () => {
        const path = '/api/dashboard/routes/heating-read';
        const noReason = await request(base)
          .post(path)
          .set(auth)
          .send({ target: 'monolith', reason: '  ' })
          .expect(400);
        expect(noReason.headers['content-type']).toBe('application/problem+json');
        expect(noReason.body).toMatchObject({
          type: 'urn:warmhouse:problem:cdc-monitor-invalid-route-change',
          title: 'Invalid route change',
          code: 'CDC_MONITOR_INVALID_ROUTE_CHANGE',
          status: 400,
          detail: 'a non-empty "reason" is required',
        });
        const nothing = await request(base).post(path).set(auth).send({ reason: 'why' }).expect(400);
        expect(nothing.body.detail).toMatch(/^nothing to change/);
        await request(base).post(path).set(auth).send({ weight: 'ten', reason: 'why' }).expect(400);
        expect(proxy.seen.filter((r) => r.method === 'PATCH')).toHaveLength(0);
      });

      it('shows the proxy’s refusal with its message and status', async () => {
        proxy.state.refuse = { status: 400, message: 'invalid route: weight: required by mode canary' };
        const res = await request(base)
          .post('/api/dashboard/routes/heating-read')
          .set(auth)
          .send({ mode: 'canary', reason: 'try' })
          .expect(400);
        expect(res.body).toMatchObject({
          code: 'CDC_MONITOR_PROXY_REFUSED',
          title: 'The proxy refused the change',
          status: 400,
          detail: 'invalid route: weight: required by mode canary',
          proxyStatus: 400,
          proxy: { code: 'PROXY_ERR_X', detail: 'invalid route: weight: required by mode canary' },
        });
        proxy.state.refuse = { status: 401, message: 'unauthorized' };
        const wrongToken = await request(base)
          .post('/api/dashboard/routes/heating-read')
          .set(auth)
          .send({ target: 'monolith', reason: 'x' })
          .expect(502);
        expect(wrongToken.body).toMatchObject({ status: 502, proxyStatus: 401, detail: 'unauthorized' });
        proxy.state.refuse = undefined;
        const unknown = await request(base)
          .post('/api/dashboard/routes/nope')
          .set(auth)
          .send({ target: 'monolith', reason: 'x' })
          .expect(404);
        expect(unknown.body.detail).toBe('no route "nope"');
        await proxy.close();
        const down = await request(base)
          .post('/api/dashboard/routes/heating-read')
          .set(auth)
          .send({ target: 'monolith', reason: 'x' })
          .expect(502);
        expect(down.body.detail).toMatch(/^proxy admin unreachable/);
      });

      it('streams the snapshot as server-sent events, and again right after a change', async () => {
        const controller = new AbortController();
        const res = await fetch(`${base}/api/dashboard/events`, {
          headers: { cookie: session },
          signal: controller.signal,
        });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
        const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        const nextEvent = async (): Promise<DashboardSnapshot> => {
          for (;;) {
            const m = /event: snapshot\ndata: (.*)\n\n/.exec(buffer);
            if (m) {
              buffer = buffer.slice(m.index + m[0].length);
              return JSON.parse(m[1]!) as DashboardSnapshot;
            }
            const { value, done } = await reader.read();
            if (done) throw new Error('stream ended');
            buffer += value;
          }
        };
        try {
          const first = await nextEvent();
          expect(first.routes).toMatchObject({ ok: true, version: 1 });
          expect(first.cdc.connectors[0]).toMatchObject({ state: 'RUNNING' });
          expect(first.audit).toEqual({ ok: true, value: [] });
          await request(base)
            .post('/api/dashboard/routes/heating-read')
            .set(auth)
            .send({ target: 'device-management', reason: 'go' })
            .expect(200);
          // the pushed snapshots carry the change (right away, and on every period after)
          const after = await nextEvent().then(async (e) => (e.routes.ok && e.routes.version === 2 ? e : nextEvent()));
          expect(after.routes).toMatchObject({
            ok: true,
            version: 2,
            rows: [{ id: 'heating-read', target: 'device-management' }, { id: 'heating-write' }],
          });
          expect(after.audit).toMatchObject({ ok: true, value: [{ actor: 'dashboard', reason: 'go' }] });
        } finally {
          controller.abort();
        }
      });
    });
  });
});
