import type { Logger } from '@warmhouse/shared';
import express, { type NextFunction, type Request, type Response } from 'express';
import swaggerUi from 'swagger-ui-express';
import { z } from 'zod';
import { errorBody, ProxyError, type ProxyErrorCode } from '../errors';
import { LOG_EVENTS } from '../log-events';
import type { CdcReads } from '../cdc/cdc-reads';
import type { CircuitBreakers } from '../forward/breaker';
import { localLink, type FleetLink } from '../fleet/link';
import type { ProxyMetrics } from '../metrics';
import { PlanRunner } from '../plan/runner';
import type { Shadower } from '../shadow/shadower';
import { RouteStats } from '../stats/route-stats';
import type { ApplyResult, ChangeMeta, RouteTableStore } from '../table/store';
import type { TableIssue } from '../table/compile';
import { ROUTE_MODES } from '../table/schema';
import { bearerMatches } from './auth';
import { mountFleetViews } from './fleet-views';
import { openApiDocument } from './openapi';

/** Options of {@link createAdminApp}. */
export interface AdminOptions {
  store: RouteTableStore;
  metrics: ProxyMetrics;
  logger: Logger;
  /** Bearer token; without one the app refuses to be built unless `insecureDev` is true. */
  token?: string;
  /** Explicit opt-in to an unauthenticated admin API, for local development only. */
  insecureDev?: boolean;
  /** Shadow counters and differences, for `GET /api/shadow` (absent: empty). */
  shadower?: Shadower;
  /** Circuit breakers, for `GET /api/breakers` (absent: empty). */
  breakers?: CircuitBreakers;
  /** Per-route rolling statistics, for `GET /api/stats` (absent: an empty collector). */
  stats?: RouteStats;
  /** Plan runner, for the plan dry run (absent: one that is never started, over `stats`). */
  plans?: PlanRunner;
  /** CDC-aware reads, for `GET /api/cdc` (absent: empty). */
  cdc?: CdcReads;
  /** Readiness probe (table loaded, proxy listening and not draining). */
  ready?: () => boolean;
  /**
   * The worker processes beside this one (PROXY_WORKERS): the per-process views (shadow, breakers, CDC, metrics)
   * are gathered from every worker. Absent: this process alone.
   */
  fleet?: FleetLink;
}

const ToggleBody = z
  .object({ target: z.string().min(1), reason: z.string().trim().min(1, 'a reason is required') })
  .strict();
const PatchBody = z
  .object({
    target: z.string().min(1).optional(),
    mode: z.enum(ROUTE_MODES).optional(),
    weight: z.number().int().min(0).max(100).optional(),
    planStatus: z.enum(['active', 'paused']).optional(),
    reason: z.string().trim().min(1, 'a reason is required'),
  })
  .strict()
  .refine(
    (b) => b.target !== undefined || b.mode !== undefined || b.weight !== undefined || b.planStatus !== undefined,
    { message: 'give at least one of target, mode, weight, planStatus' },
  );
const AuditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
  route: z.string().optional(),
});

function fail(res: Response, code: ProxyErrorCode, message?: string, details?: unknown): void {
  const body = errorBody(code, { message, details });
  res.status(body.error.status).json(body);
}

function invalid(res: Response, issues: TableIssue[], what: string): void {
  const summary = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  fail(res, 'PROXY_ERR_INVALID_TABLE', `invalid ${what}: ${summary}`, { issues });
}

function meta(req: Request, reason: string): ChangeMeta {
  const actor = req.get('x-strangler-actor')?.trim();
  return { actor: actor && actor.length <= 200 ? actor : 'admin-api', source: 'admin-api', reason };
}

function reasonOf(req: Request, res: Response): string | undefined {
  const reason = req.get('x-strangler-reason')?.trim();
  if (reason) return reason;
  fail(res, 'PROXY_ERR_INVALID_ADMIN_REQUEST', 'header X-Strangler-Reason is required', {
    issues: [{ path: 'X-Strangler-Reason', message: 'required' }],
  });
  return undefined;
}

/**
 * The admin API (its own port, never reachable through the client port): table and routes, toggles,
 * audit log, health, readiness, Prometheus metrics, OpenAPI + Swagger UI. Everything but health,
 * readiness and the docs needs the bearer token.
 */
export function createAdminApp(options: AdminOptions): express.Express {
  const { store, metrics } = options;
  const log = options.logger.child({ module: 'admin' });
  if (!options.token && !options.insecureDev) throw new ProxyError('PROXY_ERR_ADMIN_TOKEN_MISSING');
  if (!options.token)
    log.warn({ event: LOG_EVENTS.adminInsecure }, 'admin API runs WITHOUT authentication (PROXY_INSECURE_DEV_ADMIN)');
  const doc = openApiDocument();
  const stats = options.stats ?? new RouteStats();
  const plans = options.plans ?? new PlanRunner(store, stats, log, { tickMs: 60_000 });

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/ready', (_req, res) => {
    const ready = options.ready?.() ?? true;
    res.status(ready ? 200 : 503).json({ ready, tableVersion: store.current.version });
  });
  app.get('/openapi.json', (_req, res) => {
    res.json(doc);
  });
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(doc));

  app.use((req: Request, res: Response, next: NextFunction) => {
    if (!options.token || bearerMatches(req.get('authorization'), options.token)) return next();
    log.info(
      { event: LOG_EVENTS.adminUnauthorized, method: req.method, path: req.path, ip: req.ip },
      'admin request without a valid token',
    );
    res.set('www-authenticate', 'Bearer realm="strangler-admin"');
    fail(res, 'PROXY_ERR_UNAUTHORIZED');
  });
  app.use(express.json({ limit: '256kb', strict: true }));

  // /metrics, /api/shadow, /api/shadow/{id}, /api/breakers, /api/cdc and /api/fleet/workers: every worker's figures
  mountFleetViews(app, {
    fleet: options.fleet ?? localLink(),
    store,
    metrics,
    shadower: options.shadower,
    breakers: options.breakers,
    cdc: options.cdc,
  });

  app.get('/api/table', (_req, res) => {
    const t = store.current;
    res.json({ version: t.version, ...t.spec, lastRejected: store.lastRejected ?? null });
  });
  app.post('/api/table/reload', (_req, res) => {
    const result = store.reloadFile();
    if (!result.ok) return invalid(res, result.issues, 'routes file');
    res.json({ version: store.current.version, changes: 'entries' in result ? result.entries : [] });
  });

  app.get('/api/routes', (_req, res) => {
    const t = store.current;
    res.json({ version: t.version, defaultTarget: t.spec.defaultTarget, routes: t.spec.routes });
  });
  app.get('/api/routes/:id', (req, res) => {
    const route = store.current.spec.routes.find((r) => r.id === req.params.id);
    if (!route) return fail(res, 'PROXY_ERR_ROUTE_NOT_FOUND', `no route "${req.params.id}"`);
    res.json({ version: store.current.version, route });
  });

  const changed = (res: Response, result: ApplyResult, routeId: string, status = 200): void => {
    if (!result.ok) return invalid(res, result.issues, 'route');
    const route = result.table.spec.routes.find((r) => r.id === routeId) ?? null;
    res.status(status).json({ version: result.table.version, route, changes: result.entries });
  };

  app.put('/api/routes/:id', (req, res) => {
    const reason = reasonOf(req, res);
    if (reason === undefined) return;
    const result = store.putRoute(req.params.id, req.body, meta(req, reason));
    changed(res, result, req.params.id, result.created ? 201 : 200);
  });
  app.delete('/api/routes/:id', (req, res) => {
    const reason = reasonOf(req, res);
    if (reason === undefined) return;
    changed(res, store.deleteRoute(req.params.id, meta(req, reason)), req.params.id);
  });
  app.put('/api/routes/:id/target', (req, res) => {
    const body = ToggleBody.safeParse(req.body);
    if (!body.success) {
      const issues = body.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
      return fail(
        res,
        'PROXY_ERR_INVALID_ADMIN_REQUEST',
        `invalid toggle: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
        { issues },
      );
    }
    changed(res, store.setTarget(req.params.id, body.data.target, meta(req, body.data.reason)), req.params.id);
  });

  app.patch('/api/routes/:id', (req, res) => {
    const body = PatchBody.safeParse(req.body);
    if (!body.success) {
      const issues = body.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
      return fail(
        res,
        'PROXY_ERR_INVALID_ADMIN_REQUEST',
        `invalid route change: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
        { issues },
      );
    }
    const { reason, ...patch } = body.data;
    const route = store.current.spec.routes.find((r) => r.id === req.params.id);
    if (patch.planStatus !== undefined && route && !route.plan) {
      return fail(res, 'PROXY_ERR_INVALID_ADMIN_REQUEST', `route "${route.id}" has no plan`, {
        issues: [{ path: 'planStatus', message: 'the route has no plan' }],
      });
    }
    changed(res, store.updateRoute(req.params.id, patch, meta(req, reason)), req.params.id);
  });

  app.get('/api/routes/:id/plan', (req, res) => {
    const check = plans.check(req.params.id);
    if (!check) return fail(res, 'PROXY_ERR_ROUTE_NOT_FOUND', `no route "${req.params.id}"`);
    res.json(check);
  });

  app.get('/api/stats', (_req, res) => {
    res.json(stats.snapshot(store.current.spec.routes.map((r) => r.id)));
  });

  app.get('/api/upstreams', (_req, res) => {
    const t = store.current;
    res.json({
      version: t.version,
      defaultTarget: t.spec.defaultTarget,
      upstreams: [...t.upstreams.values()].map((u) => ({
        name: u.name,
        origin: u.origin,
        timeouts: u.timeouts,
        maxConnections: u.maxConnections,
        maxBodyBytes: u.maxBodyBytes ?? null,
        routes: t.spec.routes.filter((r) => r.target === u.name).map((r) => r.id),
      })),
    });
  });

  app.get('/api/audit', (req, res) => {
    const q = AuditQuery.safeParse(req.query);
    if (!q.success) return fail(res, 'PROXY_ERR_INVALID_ADMIN_REQUEST', 'limit must be an integer between 1 and 10000');
    res.json({ entries: store.readAudit({ limit: q.data.limit, routeId: q.data.route }) });
  });

  app.use((_req: Request, res: Response) => fail(res, 'PROXY_ERR_ROUTE_NOT_FOUND', 'no such admin endpoint'));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof ProxyError) return fail(res, err.proxyCode, err.message, err.options.details);
    const status = (err as { status?: number }).status;
    if (status !== undefined && status >= 400 && status < 500) {
      return fail(res, 'PROXY_ERR_INVALID_ADMIN_REQUEST', (err as Error).message);
    }
    log.error({ event: LOG_EVENTS.internalError, err }, 'admin request failed');
    fail(res, 'PROXY_ERR_INTERNAL');
  });
  return app;
}
