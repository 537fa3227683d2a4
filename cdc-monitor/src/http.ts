import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { sendProblem, type Logger } from '@warmhouse/shared';
import {
  CSRF_HEADER,
  csrfValue,
  dashboardPage,
  CHARTS_SCRIPT,
  DASHBOARD_SCRIPT,
  UPLOT_SCRIPT,
  UPLOT_STYLE,
  loginPage,
  SESSION_COOKIE,
  sessionOf,
  sessionValue,
} from './dashboard';
import { buildDashboardSnapshot, createChartHistory, createSnapshotFeed, readRoutesView } from './dashboard-feed';
import { monitorErrors, type MonitorErrorCode } from './errors';
import { createMetrics } from './metrics';
import type { Monitor } from './monitor';
import { createProxyAdmin, type RouteChange } from './proxy-admin';
import { decideDashboardAccess, needOf, type DashboardPrincipal } from './roles';
import type { PersonSession } from './session';
import type { PersonSignIn } from './sign-in';

/** Constant-time comparison of `Authorization: Bearer <token>` with the expected token. */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  return m ? sameSecret(m[1]!, expected) : false;
}

function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** Headers of every answer: nothing cached; the dashboard loads nothing from elsewhere and may not be framed. */
const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
};

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  type = 'application/json',
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { ...headers, 'content-type': type, ...COMMON_HEADERS });
  res.end(type.endsWith('json') ? JSON.stringify(body) : String(body));
}

/**
 * Answers the problem of `code` (RFC 9457, `application/problem+json`, through the shared helper): `extensions` are
 * top-level members (`signIn`, `required`, `proxyStatus`, …), `status` relays another status than the code's own.
 */
function fail(
  res: ServerResponse,
  code: MonitorErrorCode,
  detail: string,
  options: { extensions?: Record<string, unknown>; status?: number; headers?: Record<string, string> } = {},
): void {
  const problem = monitorErrors.problem(code, detail, { status: options.status, extensions: options.extensions });
  const headers = Object.entries({ ...options.headers, ...COMMON_HEADERS }).flat();
  sendProblem(res, problem, { headers });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readText(req);
  return text === '' ? {} : (JSON.parse(text) as unknown);
}

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 64 * 1024) throw new Error('body too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads the body of a route change from the dashboard: the fields to change and the reason. */
function routeChangeOf(body: unknown): { change: RouteChange; reason: string } | string {
  if (typeof body !== 'object' || body === null) return 'the body must be a JSON object';
  const b = body as Record<string, unknown>;
  const reason = typeof b.reason === 'string' ? b.reason.trim() : '';
  if (!reason) return 'a non-empty "reason" is required';
  const change: RouteChange = {};
  if (b.target !== undefined) {
    if (typeof b.target !== 'string' || !b.target) return '"target" must be an upstream name';
    change.target = b.target;
  }
  if (b.mode !== undefined) {
    if (typeof b.mode !== 'string' || !b.mode) return '"mode" must be a route mode';
    change.mode = b.mode;
  }
  if (b.weight !== undefined) {
    if (typeof b.weight !== 'number' || !Number.isInteger(b.weight)) return '"weight" must be an integer';
    change.weight = b.weight;
  }
  if (Object.keys(change).length === 0) return 'nothing to change: give target, mode or weight';
  return { change, reason };
}

/** The proxy's own error message out of its problem body (RFC 9457 `detail`), or the body as text. */
function proxyMessage(body: unknown): string {
  const detail = (body as { detail?: unknown } | null)?.detail;
  return typeof detail === 'string' ? detail : typeof body === 'string' ? body.slice(0, 500) : JSON.stringify(body);
}

/** Options of {@link createMonitorHandler}. */
export interface MonitorHandlerOptions {
  monitor: Monitor;
  token: string;
  logger: Logger;
  /** the proxy's admin API, for the dashboard's routes table, route changes and audit log */
  proxyAdmin?: { url?: string; token?: string };
  /** period of the dashboard's server-sent events, ms (default 3000) */
  pushIntervalMs?: number;
  /** with it, a snapshot is built (and its figures added to the charts' history) this often even with no page open */
  historySampleMs?: number;
  /** people sign in with OIDC (MONITOR_OIDC_ISSUER); without it, only the admin token signs in */
  signIn?: PersonSignIn;
}

/** Who sent a request, and the CSRF value its changes must carry (none for a bearer token). */
type Caller =
  | { kind: 'token'; csrf?: string }
  | { kind: 'person'; session: PersonSession; csrf: string }
  | { kind: 'anonymous'; why?: 'expired' | 'invalid' };

const SIGNED_OUT_MESSAGE = {
  expired: 'Your sign-in has expired: sign in again.',
  invalid: 'Your session is not valid (changed, or sealed with another secret): sign in again.',
} as const;

/**
 * The monitor's admin HTTP API. `GET /healthz` is open; everything else needs `Authorization: Bearer <token>`:
 * `GET /api/cdc` (JSON snapshot), `GET /metrics` (Prometheus text), `GET /api/cdc/audit`,
 * `POST /api/cdc/connectors/<name>/restart` with `{"reason": "…"}` (audited), `POST /api/cdc/drift` with an optional
 * `{"from", "to"}` id range (runs the drift check), `GET /api/cdc/drift` (the last one).
 *
 * The dashboard: `GET /` answers the login form with 401 until `POST /login` (form field `token`) set the session
 * cookie (HttpOnly, SameSite=Strict). The cookie authorizes GET requests; a change with the cookie must also carry
 * the page's CSRF header. `GET /api/dashboard/{snapshot,routes,audit}` read, `GET /api/dashboard/events` streams the
 * snapshot (server-sent events), `POST /api/dashboard/routes/<id>` changes a route through the proxy's admin API.
 * `close()` ends the event streams.
 */
export function createMonitorHandler({
  monitor,
  token,
  logger,
  proxyAdmin = {},
  pushIntervalMs = 3000,
  historySampleMs,
  signIn,
}: MonitorHandlerOptions): RequestListener & { close(): void } {
  const metrics = createMetrics();
  const proxy = createProxyAdmin(proxyAdmin);
  const history = createChartHistory();
  const snapshotNow = async () => {
    const s = await buildDashboardSnapshot({ monitor, proxy, history });
    metrics.update(s.cdc);
    return s;
  };
  const feed = createSnapshotFeed({ build: snapshotNow, intervalMs: pushIntervalMs, logger });
  // the history grows while nobody watches: a sample whenever the feed is idle
  const sampler =
    historySampleMs === undefined
      ? undefined
      : setInterval(() => {
          if (feed.listeners() > 0) return;
          snapshotNow().catch((err: unknown) =>
            logger.warn({ event: 'dashboard_snapshot_failed', err }, 'chart sample failed'),
          );
        }, historySampleMs);
  sampler?.unref();
  /** The admin token (bearer, or its sign-in cookie), else a person's sealed session, else nobody. */
  const callerOf = async (req: IncomingMessage): Promise<Caller> => {
    if (bearerMatches(req.headers.authorization, token)) return { kind: 'token' };
    const session = sessionOf(req.headers.cookie);
    if (session !== undefined && sameSecret(session, sessionValue(token))) {
      return { kind: 'token', csrf: csrfValue(token) };
    }
    if (!signIn) return { kind: 'anonymous' };
    const person = await signIn.lookup(req.headers.cookie);
    if (person.state === 'signed-in') return { kind: 'person', session: person.session, csrf: person.csrf };
    return person.state === 'none' ? { kind: 'anonymous' } : { kind: 'anonymous', why: person.state };
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://monitor');
    const method = req.method ?? 'GET';
    if (method === 'GET' && url.pathname === '/healthz') return send(res, 200, { ok: true });
    if (method === 'POST' && url.pathname === '/login') {
      const given = new URLSearchParams(await readText(req)).get('token') ?? '';
      if (!sameSecret(given, token)) {
        const page = loginPage({ oidc: signIn !== undefined, message: 'That is not the admin token.' });
        return send(res, 401, page, 'text/html; charset=utf-8');
      }
      res.writeHead(303, {
        location: '/',
        'set-cookie': `${SESSION_COOKIE}=${sessionValue(token)}; HttpOnly; SameSite=Strict; Path=/`,
      });
      return res.end();
    }
    if (method === 'POST' && url.pathname === '/logout') {
      const clearToken = `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
      res.writeHead(303, { location: '/', 'set-cookie': [clearToken, ...(signIn ? [signIn.clearSession] : [])] });
      return res.end();
    }
    if (signIn && (await signIn.handle(req, res, url))) return;
    const caller = await callerOf(req);
    const csrf = req.headers[CSRF_HEADER];
    const csrfOk =
      caller.kind === 'anonymous' || caller.csrf === undefined || method === 'GET'
        ? true
        : typeof csrf === 'string' && sameSecret(csrf, caller.csrf);
    if (caller.kind === 'anonymous' || !csrfOk) {
      const why = caller.kind === 'anonymous' ? caller.why : undefined;
      const clear: Record<string, string> = why && signIn ? { 'set-cookie': signIn.clearSession } : {};
      if (method === 'GET' && url.pathname === '/') {
        const message = why ? SIGNED_OUT_MESSAGE[why] : undefined;
        return send(res, 401, loginPage({ oidc: signIn !== undefined, message }), 'text/html; charset=utf-8', clear);
      }
      const message = why ? SIGNED_OUT_MESSAGE[why] : 'missing or wrong bearer token';
      return fail(res, 'CDC_MONITOR_UNAUTHORIZED', message, {
        extensions: why ? { signIn: '/auth/login' } : {},
        headers: clear,
      });
    }
    const principal: DashboardPrincipal =
      caller.kind === 'person'
        ? { kind: 'person', subject: caller.session.sub, roles: caller.session.roles }
        : { kind: 'token' };
    const verdict = decideDashboardAccess(principal, needOf(method));
    if (!verdict.ok) {
      if (method === 'GET' && url.pathname === '/') {
        const message = `Signed in as ${caller.kind === 'person' ? (caller.session.name ?? caller.session.sub) : ''}, but ${verdict.reason}.`;
        return send(res, 403, loginPage({ oidc: true, message }), 'text/html; charset=utf-8');
      }
      return fail(res, 'CDC_MONITOR_FORBIDDEN', verdict.reason, { extensions: { required: verdict.required } });
    }
    if (method === 'GET' && url.pathname === '/') {
      const page =
        caller.kind === 'person'
          ? dashboardPage(caller.csrf, {
              person: { name: caller.session.name ?? caller.session.sub, roles: caller.session.roles },
              canChange: decideDashboardAccess(principal, 'change').ok,
            })
          : dashboardPage(csrfValue(token));
      return send(res, 200, page, 'text/html; charset=utf-8');
    }
    if (method === 'GET' && url.pathname === '/dashboard.js') {
      return send(res, 200, DASHBOARD_SCRIPT, 'text/javascript; charset=utf-8');
    }
    if (method === 'GET' && url.pathname === '/dashboard-charts.js') {
      return send(res, 200, CHARTS_SCRIPT, 'text/javascript; charset=utf-8');
    }
    if (method === 'GET' && url.pathname === '/uplot.js') return send(res, 200, UPLOT_SCRIPT, 'text/javascript');
    if (method === 'GET' && url.pathname === '/uplot.css') return send(res, 200, UPLOT_STYLE, 'text/css');
    if (method === 'GET' && url.pathname === '/api/dashboard/events') return feed.subscribe(res);
    if (method === 'GET' && url.pathname === '/api/dashboard/snapshot') return send(res, 200, await snapshotNow());
    if (method === 'GET' && url.pathname === '/api/dashboard/routes')
      return send(res, 200, await readRoutesView(proxy));
    if (method === 'GET' && url.pathname === '/api/dashboard/audit') {
      const limit = Math.min(1000, Math.max(1, Number(url.searchParams.get('limit')) || 20));
      const audit = await proxy.audit(limit);
      return audit.ok
        ? send(res, 200, { entries: [...audit.value].reverse() })
        : fail(res, 'CDC_MONITOR_PROXY_AUDIT_UNAVAILABLE', audit.error);
    }
    const routeChange = /^\/api\/dashboard\/routes\/([^/]+)$/.exec(url.pathname);
    if (method === 'POST' && routeChange) {
      const id = decodeURIComponent(routeChange[1]!);
      const parsed = routeChangeOf(await readJson(req).catch(() => undefined));
      if (typeof parsed === 'string') return fail(res, 'CDC_MONITOR_INVALID_ROUTE_CHANGE', parsed);
      // a person's change carries their own access token: the proxy checks their role and audits oidc:<sub>
      const person = caller.kind === 'person' ? caller.session : undefined;
      const outcome = await proxy.changeRoute(id, parsed.change, parsed.reason, 'dashboard', person?.accessToken);
      logger.info(
        {
          event: 'dashboard_route_change',
          route: id,
          by: person ? `oidc:${person.sub}` : 'token:admin',
          change: parsed.change,
          reason: parsed.reason,
          status: outcome.status,
        },
        `route change ${id} from the dashboard: proxy answered ${outcome.status}`,
      );
      if (outcome.status >= 200 && outcome.status < 300) {
        void feed.poke();
        return send(res, 200, outcome.body);
      }
      if (person && (outcome.status === 401 || outcome.status === 403)) {
        // the person's own token: refused (expired, revoked, another audience) or without the role at the proxy
        const code = outcome.status === 401 ? 'CDC_MONITOR_PROXY_SIGN_IN_REFUSED' : 'CDC_MONITOR_PROXY_ROLE_REFUSED';
        return fail(res, code, proxyMessage(outcome.body), {
          extensions: {
            proxyStatus: outcome.status,
            proxy: outcome.body,
            ...(outcome.status === 401 ? { signIn: '/auth/login' } : {}),
          },
        });
      }
      // the proxy's 4xx are about the change; a 401/403 there is about the monitor's PROXY_ADMIN_TOKEN, not the user
      const aboutChange =
        outcome.status >= 400 && outcome.status < 500 && outcome.status !== 401 && outcome.status !== 403;
      return fail(res, 'CDC_MONITOR_PROXY_REFUSED', proxyMessage(outcome.body), {
        status: aboutChange ? outcome.status : undefined,
        extensions: { proxyStatus: outcome.status, proxy: outcome.body },
      });
    }
    if (method === 'GET' && url.pathname === '/api/cdc') {
      const s = await monitor.snapshot();
      metrics.update(s);
      return send(res, 200, s);
    }
    if (method === 'GET' && url.pathname === '/metrics') {
      metrics.update(await monitor.snapshot());
      return send(res, 200, await metrics.registry.metrics(), metrics.registry.contentType);
    }
    if (url.pathname === '/api/cdc/drift' && (method === 'GET' || method === 'POST')) {
      if (!monitor.driftConfigured) {
        return fail(res, 'CDC_MONITOR_DRIFT_OFF', 'no service copy configured');
      }
      if (method === 'GET') return send(res, 200, { drift: monitor.lastDrift() });
      const body = (await readJson(req).catch(() => undefined)) as { from?: unknown; to?: unknown } | undefined;
      const bad = (['from', 'to'] as const).filter(
        (k) => body?.[k] !== undefined && !/^\d{1,18}$/.test(String(body[k])),
      );
      if (!body || bad.length > 0) {
        return fail(res, 'CDC_MONITOR_BAD_RANGE', `not a non-negative integer id: ${bad.join(', ') || 'body'}`);
      }
      const range = {
        ...(body.from !== undefined ? { from: String(body.from) } : {}),
        ...(body.to !== undefined ? { to: String(body.to) } : {}),
      };
      try {
        return send(res, 200, await monitor.checkDrift(range));
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        logger.warn({ event: 'cdc_drift_check_failed', err }, 'drift check failed');
        return fail(res, 'CDC_MONITOR_DRIFT_FAILED', message);
      }
    }
    if (method === 'GET' && url.pathname === '/api/cdc/audit') return send(res, 200, { entries: monitor.audit() });
    const restart = /^\/api\/cdc\/connectors\/([^/]+)\/restart$/.exec(url.pathname);
    if (method === 'POST' && restart) {
      const connector = decodeURIComponent(restart[1]!);
      if (!monitor.connectors.includes(connector)) {
        return fail(res, 'CDC_MONITOR_UNKNOWN_CONNECTOR', `not watched: ${connector}`);
      }
      const body = (await readJson(req).catch(() => undefined)) as { reason?: unknown; actor?: unknown } | undefined;
      const reason = typeof body?.reason === 'string' ? body.reason.trim() : '';
      if (!reason) {
        return fail(res, 'CDC_MONITOR_REASON_REQUIRED', 'a non-empty "reason" is required');
      }
      const actor = typeof body?.actor === 'string' && body.actor ? body.actor : 'admin-token';
      const entry = await monitor.restart(connector, { reason, actor });
      return send(res, entry.outcome === 'error' ? 502 : 200, entry);
    }
    return fail(res, 'CDC_MONITOR_NOT_FOUND', `${method} ${url.pathname}`);
  };
  const listener: RequestListener = (req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ event: 'cdc_monitor_request_failed', err }, 'monitor request failed');
      if (!res.headersSent) fail(res, 'CDC_MONITOR_INTERNAL', 'internal error');
    });
  };
  return Object.assign(listener, {
    close: () => {
      clearInterval(sampler);
      feed.close();
    },
  });
}
