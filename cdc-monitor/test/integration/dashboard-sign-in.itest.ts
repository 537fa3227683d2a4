import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  startIdentityProvider,
  type IdentityProviderUnderTest,
} from '../../../packages/identity-provider/src/testing/harness';
import { startProxyProcess, writeFleetRoutes, type ProxyProcess } from '../../../proxy/test/integration/fleet-support';
import { readTestEndpoints } from '../../../test/stack-endpoints';
import {
  servicePort,
  startServiceProcess,
  stopServiceProcesses,
  type ServiceProcess,
} from '../../../test/support/service-processes';
import { signInThroughProvider, type SignedInBrowser } from './browser-less-sign-in';

const PROXY_TOKEN = 'dashboard-sign-in-proxy-token-0123456789';
const MONITOR_TOKEN = 'dashboard-sign-in-monitor-token-0123456789';
const ROUTE = 'devices-api';

interface AuditEntry {
  actor: string;
  action: string;
  to?: string;
  reason?: string;
}

const csrfOf = (html: string) => /<meta name="csrf" content="([^"]+)">/.exec(html)?.[1];
const textOf = (html: string, testId: string) => new RegExp(`data-testid="${testId}">([^<]*)<`).exec(html)?.[1];

/**
 * People signing in to the migration dashboard through real processes: the demo OpenID Provider (authorization code
 * with PKCE, its development login and consent pages, driven over plain HTTP), one proxy process (admin API taking
 * the people's tokens) and two monitor processes sharing MONITOR_SESSION_SECRET, as replicas behind one Service.
 * alice (`strangler:operator`) changes a route from the dashboard and the proxy audits her; bob
 * (`strangler:viewer`) is refused; a session sealed by one replica opens on the other; a tampered cookie or none
 * is 401, and nothing changes.
 */
describe('dashboard OIDC sign-in through the provider, a proxy and two monitor processes', () => {
  const endpoints = readTestEndpoints();
  const monitorPorts = [servicePort(0), servicePort(1)];
  const monitorUrls = monitorPorts.map((port) => `http://127.0.0.1:${port}`);
  let idp: IdentityProviderUnderTest;
  let dir: string;
  let proxy: ProxyProcess;
  const monitors: ServiceProcess[] = [];
  let alice: SignedInBrowser;

  /** The proxy's admin API asked directly with its shared token (never through a monitor). */
  const proxyAdmin = async <T>(target: string): Promise<T> => {
    const res = await fetch(`${proxy.adminUrl}${target}`, { headers: { authorization: `Bearer ${PROXY_TOKEN}` } });
    if (res.status !== 200) throw new Error(`GET ${target} at the proxy answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as T;
  };
  const routeTable = () => proxyAdmin<unknown>('/api/routes');
  const routeTarget = async () =>
    (await proxyAdmin<{ route: { target: string } }>(`/api/routes/${ROUTE}`)).route.target;
  const audit = async () => (await proxyAdmin<{ entries: AuditEntry[] }>(`/api/audit?route=${ROUTE}`)).entries;

  /**
   * The dashboard's route change as its page sends it: POST with the session cookie and the CSRF value of the page
   * the session opened (`session`: a sealed cookie and that page; none: no cookie, no header).
   */
  const changeRoute = async (
    monitorUrl: string,
    session: { sealed: string; html: string } | undefined,
    change: { target: string; reason: string },
  ) => {
    const res = await fetch(`${monitorUrl}/api/dashboard/routes/${ROUTE}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(session
          ? { cookie: `cdc_monitor_person=${session.sealed}`, 'x-dashboard-csrf': csrfOf(session.html)! }
          : {}),
      },
      body: JSON.stringify(change),
    });
    return { status: res.status, body: (await res.json()) as unknown, setCookie: res.headers.getSetCookie() };
  };
  const dashboardPage = (monitorUrl: string, sealed?: string) =>
    fetch(`${monitorUrl}/`, { headers: sealed === undefined ? {} : { cookie: `cdc_monitor_person=${sealed}` } });

  beforeAll(async () => {
    idp = await startIdentityProvider(servicePort(2), {
      dashboardRedirectUris: monitorUrls.map((url) => `${url}/auth/callback`),
    });
    dir = mkdtempSync(path.join(tmpdir(), 'dashboard-sign-in-'));
    proxy = await startProxyProcess({
      name: 'sign-in-proxy',
      dir,
      env: {
        PROXY_ADMIN_TOKEN: PROXY_TOKEN,
        // nothing is sent through the proxy: the upstreams need not run
        PROXY_ROUTES_FILE: writeFleetRoutes(dir, [{ id: ROUTE, path: '/api/v1/devices/*', target: 'monolith' }]),
        MONOLITH_URL: 'http://127.0.0.1:9',
        DEVICE_MANAGEMENT_URL: 'http://127.0.0.1:9',
        PROXY_OIDC_ISSUER: idp.issuer,
        PROXY_OIDC_AUDIENCE: idp.audience,
        PROXY_ADMIN_OIDC_AUDIENCE: idp.audience,
      },
    });
    const monolithDb = Object.assign(new URL(endpoints.postgres.superuserUrl), { pathname: '/smart_home' });
    const sessionSecret = randomBytes(32).toString('base64url'); // one secret, both replicas
    for (const [i, port] of monitorPorts.entries()) {
      monitors.push(
        await startServiceProcess({
          service: 'cdc-monitor',
          name: `sign-in-monitor-${i + 1}`,
          port,
          env: {
            CONNECT_URL: endpoints.connect.url,
            CONNECTORS: endpoints.connectorName,
            MONOLITH_DATABASE_URL: monolithDb.toString(),
            REPLICATION_SLOTS: endpoints.slotName,
            KAFKA_BROKERS: endpoints.kafka.brokers.join(','),
            CDC_TOPICS: [endpoints.topics.heatingSystems, endpoints.topics.heartbeat].join(','),
            CDC_PROBE_INTERVAL_SECONDS: '0',
            MONITOR_TOKEN,
            PROXY_ADMIN_URL: proxy.adminUrl,
            PROXY_ADMIN_TOKEN: PROXY_TOKEN,
            MONITOR_OIDC_ISSUER: idp.issuer,
            MONITOR_OIDC_CLIENT_ID: 'warm-house-dashboard',
            MONITOR_OIDC_CLIENT_SECRET: idp.clientSecret,
            MONITOR_PUBLIC_URL: monitorUrls[i]!,
            MONITOR_SESSION_SECRET: sessionSecret,
          },
        }),
      );
    }
  });

  afterAll(async () => {
    await stopServiceProcesses(monitors);
    await proxy?.process.stop();
    await idp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('alice (operator) signs in on monitor 1 and changes a route with her own token: the proxy audits oidc:user-alice', async () => {
    expect(await routeTarget()).toBe('monolith');
    alice = await signInThroughProvider(monitorUrls[0]!, 'user-alice');
    // the real code flow: the provider's login form, its consent form, then the monitor's callback
    expect(alice.hops.filter((h) => h.startsWith(`POST ${idp.issuer}/interaction/`))).toHaveLength(2);
    expect(alice.hops).toContain(`GET ${monitorUrls[0]}/auth/callback`);
    expect(alice.page.status).toBe(200);
    expect(textOf(alice.page.html, 'signed-in-as')).toBe('Alice'); // the ID token's name (scope profile)
    expect(textOf(alice.page.html, 'roles')).toBe('strangler:operator');
    expect(alice.page.html).toContain('<meta name="can-change" content="true">');

    const aliceSession = { sealed: alice.sealed, html: alice.page.html };
    const change = { target: 'device-management', reason: 'alice from the dashboard' };
    expect(await changeRoute(monitorUrls[0]!, aliceSession, change)).toMatchObject({
      status: 200,
      body: { route: { id: ROUTE, target: 'device-management' } },
    });
    expect(await routeTarget()).toBe('device-management');
    expect((await audit()).at(-1)).toMatchObject({
      actor: 'oidc:user-alice',
      subject: 'user-alice',
      clientId: 'warm-house-dashboard',
      action: 'route.retargeted',
      to: 'device-management',
      reason: 'alice from the dashboard',
    });
  });

  it('bob (viewer) signs in on monitor 2, reads, and his change is refused with 403: the route table is unchanged', async () => {
    const bob = await signInThroughProvider(monitorUrls[1]!, 'user-bob');
    expect(bob.page.status).toBe(200);
    expect(textOf(bob.page.html, 'roles')).toBe('strangler:viewer');
    expect(bob.page.html).toContain('<meta name="can-change" content="false">');
    const reads = await fetch(`${monitorUrls[1]}/api/dashboard/routes`, {
      headers: { cookie: `cdc_monitor_person=${bob.sealed}` },
    });
    expect(reads.status).toBe(200);
    await reads.arrayBuffer();

    const [tableBefore, auditBefore] = [await routeTable(), await audit()];
    const bobSession = { sealed: bob.sealed, html: bob.page.html };
    expect(await changeRoute(monitorUrls[1]!, bobSession, { target: 'monolith', reason: 'bob tries' })).toMatchObject({
      status: 403,
      body: { status: 403, code: 'CDC_MONITOR_FORBIDDEN', required: ['strangler:operator'] },
    });
    expect(await routeTable()).toEqual(tableBefore);
    expect(await audit()).toEqual(auditBefore);
  });

  it("alice's session sealed by monitor 1 opens on monitor 2 (shared secret) and changes the route there", async () => {
    const page = await dashboardPage(monitorUrls[1]!, alice.sealed);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(textOf(html, 'roles')).toBe('strangler:operator');
    // the CSRF value is derived from the sealed cookie and the shared secret: the same on every replica
    expect(csrfOf(html)).toBe(csrfOf(alice.page.html));

    const change = { target: 'monolith', reason: 'alice through the other replica' };
    expect((await changeRoute(monitorUrls[1]!, { sealed: alice.sealed, html }, change)).status).toBe(200);
    expect(await routeTarget()).toBe('monolith');
    expect((await audit()).at(-1)).toMatchObject({
      actor: 'oidc:user-alice',
      to: 'monolith',
      reason: 'alice through the other replica',
    });
  });

  it('a tampered session cookie is 401 on both replicas (the cookie cleared) and changes nothing', async () => {
    // one character in the middle of the JWE's ciphertext: whole bits of the sealed bytes, never base64 padding
    const parts = alice.sealed.split('.');
    const middle = Math.floor(parts[3]!.length / 2);
    const flipped = parts[3]![middle] === 'A' ? 'B' : 'A';
    parts[3] = parts[3]!.slice(0, middle) + flipped + parts[3]!.slice(middle + 1);
    const tampered = parts.join('.');
    expect(tampered).not.toBe(alice.sealed);

    const [tableBefore, auditBefore] = [await routeTable(), await audit()];
    for (const monitorUrl of monitorUrls) {
      const change = { target: 'device-management', reason: 'tampered' };
      expect(await changeRoute(monitorUrl, { sealed: tampered, html: alice.page.html }, change)).toMatchObject({
        status: 401,
        body: {
          status: 401,
          code: 'CDC_MONITOR_UNAUTHORIZED',
          detail: expect.stringMatching(/not valid/),
          signIn: '/auth/login',
        },
        setCookie: [expect.stringMatching(/^cdc_monitor_person=;.*Max-Age=0/)],
      });
      const page = await dashboardPage(monitorUrl, tampered);
      const html = await page.text();
      expect(page.status).toBe(401);
      expect(textOf(html, 'login-message')).toMatch(/^Your session is not valid/);
    }
    expect(await routeTable()).toEqual(tableBefore);
    expect(await audit()).toEqual(auditBefore);
  });

  it('without a session: the page is 401 with the sign-in link, the API is 401, and nothing changes', async () => {
    const [tableBefore, auditBefore] = [await routeTable(), await audit()];
    const page = await dashboardPage(monitorUrls[0]!);
    const html = await page.text();
    expect(page.status).toBe(401); // the login page itself, not a redirect
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html).toContain('href="/auth/login" data-testid="oidc-sign-in"');

    expect(
      await changeRoute(monitorUrls[0]!, undefined, { target: 'device-management', reason: 'nobody' }),
    ).toMatchObject({
      status: 401,
      body: { status: 401, code: 'CDC_MONITOR_UNAUTHORIZED' },
    });
    const reads = await fetch(`${monitorUrls[0]}/api/dashboard/routes`);
    expect(reads.status).toBe(401);
    await reads.arrayBuffer();
    expect(await routeTable()).toEqual(tableBefore);
    expect(await audit()).toEqual(auditBefore);
  });
});
