import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { Pool } from 'pg';
import { chromium, type Browser } from 'playwright-core';
import { createLogger } from '@warmhouse/shared';
import { readTestEndpoints } from '../../../test/stack-endpoints';
import { createMonitor, createMonitorHandler, startFreshnessTail } from '../../src/monitor';

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

/** The dashboard in headless Chromium, against a monitor of the real stack and a stand-in for the proxy admin API. */
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
  const proxyAdminToken = 'proxy-admin-token';
  let admin: Admin;
  let tail: Awaited<ReturnType<typeof startFreshnessTail>>;
  let proxyAdmin: Server;
  let monitorServer: Server;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    proxyAdmin = createServer((req, res) => {
      const ok = req.url === '/api/routes' && req.headers.authorization === `Bearer ${proxyAdminToken}`;
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          ok
            ? {
                version: 3,
                routes: [
                  { id: 'heating-read', methods: ['GET'], path: '/api/heating/:id', target: 'device-management' },
                  {
                    id: 'heating-write',
                    methods: ['PUT'],
                    path: '/api/heating/:id',
                    target: 'device-management',
                    mode: 'canary',
                    weight: 25,
                  },
                ],
              }
            : { error: 'unauthorized' },
        ),
      );
    });
    const proxyAdminUrl = await listen(proxyAdmin);
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
    monitorServer = createServer(
      createMonitorHandler({
        monitor,
        token: TOKEN,
        logger,
        proxyAdmin: { url: proxyAdminUrl, token: proxyAdminToken },
      }),
    );
    base = await listen(monitorServer);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await close(monitorServer);
    await close(proxyAdmin);
    await tail?.stop();
    await admin?.disconnect();
    await pool.end();
  });

  it('asks for the token, then shows the routes and the connector RUNNING', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    try {
      const first = await page.goto(`${base}/`);
      expect(first?.status()).toBe(401);
      expect((await page.request.get(`${base}/api/cdc`)).status()).toBe(401);

      await page.getByTestId('token').fill(TOKEN);
      await page.getByTestId('sign-in').click();
      const routes = page.getByTestId('routes');
      await routes.getByText('heating-read').waitFor({ timeout: 30_000 });
      expect(await routes.textContent()).toContain('25 %');
      await page.getByTestId('connectors').getByText('RUNNING').first().waitFor({ timeout: 60_000 });
      expect(await page.getByTestId('connectors').textContent()).toContain(endpoints.connectorName);
      expect(await page.getByTestId('slots').textContent()).toContain(endpoints.slotName);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'monitor-dashboard.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });
});
