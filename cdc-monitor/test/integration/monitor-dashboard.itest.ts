import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { Pool } from 'pg';
import { chromium, type Browser } from 'playwright-core';
import { createLogger } from '@warmhouse/shared';
import { startTestStrangler, type TestStrangler } from '../../../proxy/src/testing/strangler';
import { readTestEndpoints } from '../../../test/stack-endpoints';
import { createMonitor, createMonitorHandler, startFreshnessTail } from '../../src';

const TOKEN = 'dashboard-itest-token-0123456789';
/** Debian's `chromium` package (never a downloaded browser); CHROMIUM_PATH overrides. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve(__dirname, '..', '..', '..', 'test-artifacts');

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const close = (server: Server | undefined) =>
  new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));

/** The dashboard in headless Chromium, against a monitor of the real stack and a real strangler proxy (admin API). */
describe('CDC monitor dashboard in a browser', () => {
  const endpoints = readTestEndpoints();
  const logger = createLogger('cdc-dashboard-itest', 'silent');
  const pool = new Pool({
    connectionString: Object.assign(new URL(endpoints.postgres.superuserUrl), { pathname: '/smart_home' }).toString(),
    max: 2,
  });
  const kafka = new Kafka({
    clientId: `dashboard-itest-${randomUUID()}`,
    brokers: endpoints.kafka.brokers,
    logLevel: logLevel.NOTHING,
  });
  const topics = [endpoints.topics.heatingSystems, endpoints.topics.heartbeat];
  const proxyAdminToken = 'dashboard-itest-proxy-admin-token';
  let admin: Admin;
  let tail: Awaited<ReturnType<typeof startFreshnessTail>>;
  let strangler: TestStrangler;
  let handler: ReturnType<typeof createMonitorHandler>;
  let monitorServer: Server;
  let browser: Browser;
  let base: string;

  /** The proxy's admin API, asked directly (not through the monitor). */
  const proxyAdmin = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${strangler.adminUrl}${path}`, {
      headers: { authorization: `Bearer ${proxyAdminToken}` },
    });
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  };

  beforeAll(async () => {
    // the default route table (proxy/routes.yaml); nothing is sent through the proxy, so the upstreams need not run
    strangler = await startTestStrangler({
      name: 'dashboard',
      token: proxyAdminToken,
      logger,
      env: { MONOLITH_URL: 'http://127.0.0.1:9', DEVICE_MANAGEMENT_URL: 'http://127.0.0.1:9' },
    });
    admin = kafka.admin();
    await admin.connect();
    tail = await startFreshnessTail(kafka, topics, logger);
    const monitor = createMonitor({
      connectUrl: endpoints.connect.url,
      connectors: [endpoints.connectorName],
      pool,
      slots: [endpoints.slotName],
      admin,
      consumerGroups: [],
      topics,
      lastChanges: tail.last,
      thresholds: { walRetainedAlarmBytes: 1024 ** 3, freshnessAlarmSeconds: 600, heartbeatAlarmSeconds: 600 },
      logger,
    });
    handler = createMonitorHandler({
      monitor,
      token: TOKEN,
      logger,
      proxyAdmin: { url: strangler.adminUrl, token: proxyAdminToken },
      pushIntervalMs: 2000,
    });
    monitorServer = createServer(handler);
    base = await listen(monitorServer);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
    });
  });

  afterAll(async () => {
    await browser?.close();
    handler?.close();
    await close(monitorServer);
    await strangler?.stop();
    await tail?.stop();
    await admin?.disconnect();
    await pool.end();
  });

  it('answers 401 on the page and every data endpoint without the token', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const first = await page.goto(`${base}/`);
      expect(first?.status()).toBe(401);
      await page.getByTestId('token').waitFor();
      for (const p of ['/dashboard.js', '/api/dashboard/snapshot', '/api/dashboard/events', '/api/cdc', '/metrics']) {
        expect({ path: p, status: (await page.request.get(`${base}${p}`)).status() }).toEqual({ path: p, status: 401 });
      }
      const change = await page.request.post(`${base}/api/dashboard/routes/heating-get`, {
        data: { target: 'device-management', reason: 'not signed in' },
      });
      expect(change.status()).toBe(401);
      await page.getByTestId('token').fill('not-the-token-at-all');
      await page.getByTestId('sign-in').click();
      await page.getByTestId('token').waitFor();
      expect(await page.getByTestId('routes').count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it('signs in, shows routes and the connector RUNNING live, and flips a route with a confirmation and a reason', async () => {
    const context = await browser.newContext({ viewport: { width: 1600, height: 1200 } });
    const page = await context.newPage();
    try {
      await page.goto(`${base}/`);
      await page.getByTestId('token').fill(TOKEN);
      await page.getByTestId('sign-in').click();
      const routes = page.getByTestId('routes');
      await routes.getByText('heating-get', { exact: true }).waitFor({ timeout: 30_000 });
      await page.getByTestId('live').getByText('live (server-sent events)').waitFor({ timeout: 30_000 });
      // the per-route numbers: "n/a" from a proxy without GET /api/stats, the proxy's own window once it has one
      const note = await page.getByTestId('stats-note').textContent();
      const getRow = routes.locator('tr', { has: page.getByTestId('change-heating-get') });
      if (note === 'n/a: this proxy has no GET /api/stats') {
        expect(await getRow.locator('td.num').allTextContents()).toContain('n/a');
      } else {
        expect(note).toMatch(/^numbers over the last \d+ s$/);
        expect(await getRow.locator('td.num').allTextContents()).not.toContain('n/a');
      }
      await page.getByTestId('connectors').getByText('RUNNING').first().waitFor({ timeout: 60_000 });
      expect(await page.getByTestId('connectors').textContent()).toContain(endpoints.connectorName);
      expect(await page.getByTestId('slots').textContent()).toContain(endpoints.slotName);

      // change heating-get: monolith → device-management as a 20 % canary
      const reason = `dashboard itest ${randomUUID().slice(0, 8)}: canary 20 %`;
      await page.getByTestId('change-heating-get').click();
      await page.getByTestId('ed-target').selectOption('device-management');
      await page.getByTestId('ed-mode').selectOption('canary');
      await page.getByTestId('ed-weight').fill('20');
      await page.getByTestId('ed-review').click();
      expect(await page.getByTestId('ed-error').textContent()).toMatch(/reason is required/);
      expect(await page.getByTestId('ed-confirm').isVisible()).toBe(false);
      await page.getByTestId('ed-reason').fill(reason);
      await page.getByTestId('ed-review').click();
      const summary = await page.getByTestId('ed-summary').textContent();
      expect(summary).toContain('target monolith → device-management');
      expect(summary).toContain('mode forward → canary');
      expect(summary).toContain('canary weight – → 20 %');
      expect(summary).toContain(reason);
      // nothing changes before the confirmation
      const before = await proxyAdmin<{ route: { target: string } }>('/api/routes/heating-get');
      expect(before.route.target).toBe('monolith');
      await page.getByTestId('ed-apply').click();
      await page.getByTestId('route-message').getByText('Route heating-get changed').waitFor();

      // the proxy's own admin API: the route changed, and the audit log has the reason and the dashboard
      const after = await proxyAdmin<{ route: { target: string; mode: string; weight: number } }>(
        '/api/routes/heating-get',
      );
      expect(after.route).toMatchObject({ target: 'device-management', mode: 'canary', weight: 20 });
      const audit = await proxyAdmin<{ entries: Array<{ actor: string; reason: string; routeId?: string }> }>(
        '/api/audit?route=heating-get',
      );
      // the monitor holds the shared token: audited as token:admin, with the name it declares
      expect(audit.entries[audit.entries.length - 1]).toMatchObject({
        routeId: 'heating-get',
        actor: 'token:admin',
        declaredActor: 'dashboard',
        reason,
      });
      // the page shows it: the routes table (pushed) and the audit log view
      await page.getByTestId('audit').getByText(reason).waitFor({ timeout: 30_000 });
      await routes.getByText('20 %').waitFor({ timeout: 30_000 });

      // a change the proxy refuses: its message is shown, nothing changes
      await page.getByTestId('change-heating-update').click();
      await page.getByTestId('ed-mode').selectOption('canary');
      await page.getByTestId('ed-weight').fill('');
      await page.getByTestId('ed-reason').fill('canary without a weight');
      await page.getByTestId('ed-review').click();
      await page.getByTestId('ed-apply').click();
      await page
        .getByTestId('ed-error')
        .getByText(/needs a weight/)
        .waitFor();
      const untouched = await proxyAdmin<{ route: { mode: string } }>('/api/routes/heating-update');
      expect(untouched.route.mode).toBe('forward');
      await page.getByRole('button', { name: 'Back' }).click();
      await page.getByRole('button', { name: 'Cancel' }).click();

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'monitor-dashboard.png'), fullPage: true });
    } finally {
      await context.close();
    }
  });

  it('falls back to polling when the event stream fails', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.route('**/api/dashboard/events', (route) => route.fulfill({ status: 503, body: 'no streams here' }));
      await page.goto(`${base}/`);
      await page.getByTestId('token').fill(TOKEN);
      await page.getByTestId('sign-in').click();
      await page
        .getByTestId('live')
        .getByText(/^polling every 5 s/)
        .waitFor({ timeout: 30_000 });
      await page.getByTestId('routes').getByText('heating-get', { exact: true }).waitFor({ timeout: 30_000 });
      await page.getByTestId('connectors').getByText(endpoints.connectorName).waitFor({ timeout: 30_000 });
    } finally {
      await context.close();
    }
  });
});
