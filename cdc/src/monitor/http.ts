import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from '@warmhouse/shared';
import { DASHBOARD_PAGE, fetchProxyRoutes, LOGIN_PAGE, SESSION_COOKIE, sessionOf, sessionValue } from './dashboard';
import { createMetrics } from './metrics';
import type { Monitor } from './monitor';

/** Constant-time comparison of `Authorization: Bearer <token>` with the expected token. */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  return m ? sameSecret(m[1]!, expected) : false;
}

function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    // the dashboard loads nothing from elsewhere and may not be framed
    'content-security-policy':
      "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  });
  res.end(type === 'application/json' ? JSON.stringify(body) : String(body));
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

/**
 * The monitor's admin HTTP API. `GET /healthz` is open; everything else needs `Authorization: Bearer <token>`:
 * `GET /api/cdc` (JSON snapshot), `GET /metrics` (Prometheus text), `GET /api/cdc/audit`,
 * `POST /api/cdc/connectors/<name>/restart` with `{"reason": "…"}` (audited), `POST /api/cdc/drift` with an optional
 * `{"from", "to"}` id range (runs the drift check), `GET /api/cdc/drift` (the last one).
 *
 * The dashboard: `GET /` answers the login form with 401 until `POST /login` (form field `token`) set the session
 * cookie (HttpOnly, SameSite=Strict); the cookie authorizes GET requests only, so every change still needs the bearer
 * token. `GET /api/dashboard/routes` relays the proxy's `GET /api/routes`.
 */
export function createMonitorHandler({
  monitor,
  token,
  logger,
  proxyAdmin = {},
}: {
  monitor: Monitor;
  token: string;
  logger: Logger;
  /** the proxy's admin API, for the dashboard's routes table */
  proxyAdmin?: { url?: string; token?: string };
}): RequestListener {
  const metrics = createMetrics();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://monitor');
    const method = req.method ?? 'GET';
    if (method === 'GET' && url.pathname === '/healthz') return send(res, 200, { ok: true });
    if (method === 'POST' && url.pathname === '/login') {
      const given = new URLSearchParams(await readText(req)).get('token') ?? '';
      if (!sameSecret(given, token)) return send(res, 401, LOGIN_PAGE, 'text/html; charset=utf-8');
      res.writeHead(303, {
        location: '/',
        'set-cookie': `${SESSION_COOKIE}=${sessionValue(token)}; HttpOnly; SameSite=Strict; Path=/`,
      });
      return res.end();
    }
    const session = sessionOf(req.headers.cookie);
    const authorized =
      bearerMatches(req.headers.authorization, token) ||
      (method === 'GET' && session !== undefined && sameSecret(session, sessionValue(token)));
    if (!authorized && method === 'GET' && url.pathname === '/') {
      return send(res, 401, LOGIN_PAGE, 'text/html; charset=utf-8');
    }
    if (!authorized) {
      return send(res, 401, { error: { code: 'CDC_MONITOR_UNAUTHORIZED', message: 'missing or wrong bearer token' } });
    }
    if (method === 'GET' && url.pathname === '/') return send(res, 200, DASHBOARD_PAGE, 'text/html; charset=utf-8');
    if (method === 'GET' && url.pathname === '/api/dashboard/routes') {
      return send(res, 200, await fetchProxyRoutes(proxyAdmin.url, proxyAdmin.token));
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
        return send(res, 404, { error: { code: 'CDC_MONITOR_DRIFT_OFF', message: 'no service copy configured' } });
      }
      if (method === 'GET') return send(res, 200, { drift: monitor.lastDrift() });
      const body = (await readJson(req).catch(() => undefined)) as { from?: unknown; to?: unknown } | undefined;
      const bad = (['from', 'to'] as const).filter(
        (k) => body?.[k] !== undefined && !/^\d{1,18}$/.test(String(body[k])),
      );
      if (!body || bad.length > 0) {
        return send(res, 400, {
          error: {
            code: 'CDC_MONITOR_BAD_RANGE',
            message: `not a non-negative integer id: ${bad.join(', ') || 'body'}`,
          },
        });
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
        return send(res, 502, { error: { code: 'CDC_MONITOR_DRIFT_FAILED', message } });
      }
    }
    if (method === 'GET' && url.pathname === '/api/cdc/audit') return send(res, 200, { entries: monitor.audit() });
    const restart = /^\/api\/cdc\/connectors\/([^/]+)\/restart$/.exec(url.pathname);
    if (method === 'POST' && restart) {
      const connector = decodeURIComponent(restart[1]!);
      if (!monitor.connectors.includes(connector)) {
        return send(res, 404, {
          error: { code: 'CDC_MONITOR_UNKNOWN_CONNECTOR', message: `not watched: ${connector}` },
        });
      }
      const body = (await readJson(req).catch(() => undefined)) as { reason?: unknown; actor?: unknown } | undefined;
      const reason = typeof body?.reason === 'string' ? body.reason.trim() : '';
      if (!reason) {
        return send(res, 400, {
          error: { code: 'CDC_MONITOR_REASON_REQUIRED', message: 'a non-empty "reason" is required' },
        });
      }
      const actor = typeof body?.actor === 'string' && body.actor ? body.actor : 'admin-token';
      const entry = await monitor.restart(connector, { reason, actor });
      return send(res, entry.outcome === 'error' ? 502 : 200, entry);
    }
    return send(res, 404, { error: { code: 'CDC_MONITOR_NOT_FOUND', message: `${method} ${url.pathname}` } });
  };
  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ event: 'cdc_monitor_request_failed', err }, 'monitor request failed');
      if (!res.headersSent) send(res, 500, { error: { code: 'CDC_MONITOR_INTERNAL', message: 'internal error' } });
    });
  };
}
