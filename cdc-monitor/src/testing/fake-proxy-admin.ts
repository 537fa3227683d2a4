import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StatsSnapshot } from '@warmhouse/messaging';
import { problemOf, sendProblem } from '@warmhouse/shared';
import type { ProxyAuditEntry, ProxyRoute } from '../proxy-admin';

/** A request the fake admin API received. */
export interface SeenAdminRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/**
 * A stand-in for the strangler proxy's admin API on a free port, for unit tests: routes, upstreams, audit, an
 * optional `/api/stats` (404 while `stats` is undefined, like a proxy without it) and `PATCH /api/routes/:id`.
 */
export async function startFakeProxyAdmin(token: string, routes: ProxyRoute[]) {
  const seen: SeenAdminRequest[] = [];
  const audit: ProxyAuditEntry[] = [];
  const state: { stats: StatsSnapshot | undefined; version: number; refuse?: { status: number; message: string } } = {
    stats: undefined,
    version: 1,
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '/';
      const body = text ? (JSON.parse(text) as unknown) : undefined;
      seen.push({ method: req.method ?? 'GET', path, headers: req.headers, body });
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      // the proxy's own errors: RFC 9457 problem details
      const error = (status: number, detail: string) =>
        sendProblem(res, problemOf('PROXY_ERR_X', { status, retriable: false }, detail));
      if (req.headers.authorization !== `Bearer ${token}`) return error(401, 'unauthorized');
      if (req.method === 'GET' && path === '/api/routes') return reply(200, { version: state.version, routes });
      if (req.method === 'GET' && path === '/api/upstreams') {
        return reply(200, { upstreams: [{ name: 'monolith' }, { name: 'device-management' }] });
      }
      if (req.method === 'GET' && path === '/api/stats') {
        return state.stats ? reply(200, state.stats) : error(404, 'no such admin endpoint');
      }
      if (req.method === 'GET' && path.startsWith('/api/audit')) return reply(200, { entries: audit });
      const m = /^\/api\/routes\/([^/]+)$/.exec(path);
      if (req.method === 'PATCH' && m) {
        if (state.refuse) return error(state.refuse.status, state.refuse.message);
        const route = routes.find((r) => r.id === decodeURIComponent(m[1]!));
        if (!route) return error(404, `no route "${m[1]}"`);
        const { reason, ...change } = body as { reason: string } & Partial<ProxyRoute>;
        const from = route.target;
        Object.assign(route, change);
        state.version += 1;
        audit.push({
          at: new Date().toISOString(),
          version: state.version,
          actor: String(req.headers['x-strangler-actor'] ?? 'admin-api'),
          source: 'admin-api',
          reason,
          action: 'route.updated',
          routeId: route.id,
          from,
          to: route.target,
        });
        return reply(200, { version: state.version, route, changes: [audit[audit.length - 1]] });
      }
      return error(404, 'no such admin endpoint');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    audit,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
