import { sendProblem, type Logger } from '@warmhouse/shared';
import express, { type NextFunction, type Request, type Response } from 'express';
import swaggerUi from 'swagger-ui-express';
import { z } from 'zod';
import { problemBody, ProxyError, type ProxyErrorCode } from '../errors';
import { LOG_EVENTS } from '../log-events';
import type { CdcReads } from '../cdc/cdc-reads';
import type { CircuitBreakers } from '../forward/breaker';
import { localLink, type FleetLink } from '../fleet/link';
import type { ProxyMetrics } from '../metrics';
import { PlanRunner } from '../plan/runner';
import type { Shadower } from '../shadow/shadower';
import { RouteStats } from '../stats/route-stats';
import type { FleetEvidence } from '../control/evidence';
import type { FleetRegistry, FleetView } from '../control/fleet';
import type { PlanLease } from '../control/lease';
import type { ApplyResult, ChangeConditions, ChangeMeta, RouteTableStore } from '../table/store';
import type { TableIssue } from '../table/issues';
import { ROUTE_MODES } from '../table/schema';
import type { TokenVerifier } from '../auth/verifier';
import { auditActorOf, decideAdminAccess, needOf, type AdminPrincipal } from './access';
import { credentialsOf } from './authorize';
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
  /**
   * People's tokens (PROXY_ADMIN_OIDC_AUDIENCE): verified by the routes' verifier, they must name `audience` and
   * grant `strangler:viewer` (reads) or `strangler:operator` (changes). Absent: the shared token only.
   */
  oidc?: { verifier: TokenVerifier; audience: string };
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
  /** The fleet registry (with a control store); absent: this process is the whole fleet. */
  fleet?: FleetRegistry;
  /** Whether the control store answered the last look (absent: no control store). */
  storeReachable?: () => boolean;
  /** The plan lease (with a control store): `GET /api/fleet` names the process running the plans. */
  lease?: PlanLease;
  /** The fleet's merged statistics (with a control store): `GET /api/stats` covers every process. */
  fleetStats?: FleetEvidence;
  /**
   * The worker processes beside this one (PROXY_WORKERS): the per-process views (shadow, breakers, CDC, metrics)
   * are gathered from every worker. Absent: this process alone.
   */
  workers?: FleetLink;
}

const ExpectedVersion = z.number().int().min(0).optional();
const ToggleBody = z
  .object({
    target: z.string().min(1),
    reason: z.string().trim().min(1, 'a reason is required'),
    expectedVersion: ExpectedVersion,
  })
  .strict();
const PatchBody = z
  .object({
    target: z.string().min(1).optional(),
    mode: z.enum(ROUTE_MODES).optional(),
    weight: z.number().int().min(0).max(100).optional(),
    planStatus: z.enum(['active', 'paused']).optional(),
    reason: z.string().trim().min(1, 'a reason is required'),
    expectedVersion: ExpectedVersion,
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

/** Answers the problem of `code`; the members of `details` (`issues`, `currentVersion`, …) are extension members. */
function fail(res: Response, code: ProxyErrorCode, message?: string, details?: unknown): void {
  sendProblem(res, problemBody(code, { message, details }));
}

function invalid(res: Response, issues: TableIssue[], what: string): void {
  const summary = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  fail(res, 'PROXY_ERR_INVALID_TABLE', `invalid ${what}: ${summary}`, { issues });
}

/**
 * The request body as `schema` reads it, or undefined once a 400 PROXY_ERR_INVALID_ADMIN_REQUEST naming every bad
 * field (`invalid <what>: path: message; …`, the `issues` member) has been answered.
 */
function parseAdminBody<S extends z.ZodType>(
  req: Request,
  res: Response,
  schema: S,
  what: string,
): z.output<S> | undefined {
  const body = schema.safeParse(req.body);
  if (body.success) return body.data;
  const issues = body.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
  const summary = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  fail(res, 'PROXY_ERR_INVALID_ADMIN_REQUEST', `invalid ${what}: ${summary}`, { issues });
  return undefined;
}

/** The change's actor: the caller the admin API recognised (`res.locals.principal`), and its declared name. */
function meta(req: Request, res: Response, reason: string): ChangeMeta {
  const header = req.get('x-strangler-actor')?.trim();
  const declared = header && header.length <= 200 ? header : undefined;
  const { actor, identity } = auditActorOf(res.locals.principal as AdminPrincipal, declared);
  return { actor, identity, source: 'admin-api', reason };
}

/** `If-Match: "12"` (or `W/"12"`, `12`): the version a change is based on; `*` or absent: none. */
function ifMatchOf(req: Request): number | undefined {
  const header = req.get('if-match')?.trim();
  if (header === undefined || header === '*') return undefined;
  const m = /^(?:W\/)?"?(\d{1,15})"?$/.exec(header);
  if (!m) {
    throw new ProxyError('PROXY_ERR_INVALID_ADMIN_REQUEST', {
      message: 'If-Match must name one route table version, e.g. If-Match: "12"',
      details: { issues: [{ path: 'If-Match', message: 'must be a table version such as "12"' }] },
    });
  }
  return Number(m[1]);
}

/** The change's conditions from `If-Match` or a body's `expectedVersion` (they must agree when both are given). */
function conditionsOf(req: Request, bodyVersion?: number): ChangeConditions {
  const header = ifMatchOf(req);
  if (header !== undefined && bodyVersion !== undefined && header !== bodyVersion) {
    throw new ProxyError('PROXY_ERR_INVALID_ADMIN_REQUEST', {
      message: `If-Match (${header}) and expectedVersion (${bodyVersion}) disagree`,
      details: { issues: [{ path: 'expectedVersion', message: 'must equal If-Match' }] },
    });
  }
  const expectedVersion = header ?? bodyVersion;
  return expectedVersion === undefined ? {} : { expectedVersion };
}

/** The table version as an entity tag, so a client can send it back in If-Match. */
function tagged(res: Response, version: number): Response {
  return res.set('etag', `"${version}"`);
}

function reasonOf(req: Request, res: Response): string | undefined {
  const reason = req.get('x-strangler-reason')?.trim();
  if (reason) return reason;
  fail(res, 'PROXY_ERR_INVALID_ADMIN_REQUEST', 'header X-Strangler-Reason is required', {
    issues: [{ path: 'X-Strangler-Reason', message: 'required' }],
  });
  return undefined;
}

/** The fleet view of a process without a control store: it is the whole fleet. */
function alone(store: RouteTableStore): FleetView {
  const now = new Date().toISOString();
  const self = `${process.pid}`;
  return {
    storeVersion: store.current.version,
    converged: true,
    liveAfterMs: 0,
    self,
    processes: [
      {
        processId: self,
        host: 'localhost',
        pid: process.pid,
        startedAt: now,
        lastSeen: now,
        versionServed: store.current.version,
        servingFrom: store.servingFrom,
        refused: null,
      },
    ],
  };
}

/**
 * The admin API (its own port, never reachable through the client port): table and routes, toggles,
 * audit log, health, readiness, Prometheus metrics, OpenAPI + Swagger UI. Everything but health,
 * readiness and the docs needs the bearer token.
 */
export function createAdminApp(options: AdminOptions): express.Express {
  const { store, metrics } = options;
  const log = options.logger.child({ module: 'admin' });
  if (!options.token && !options.oidc && !options.insecureDev) throw new ProxyError('PROXY_ERR_ADMIN_TOKEN_MISSING');
  const open = !options.token && !options.oidc;
  if (open)
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
    res.status(ready ? 200 : 503).json({
      ready,
      tableVersion: store.current.version,
      servingFrom: store.servingFrom,
      controlStore: options.storeReachable ? (options.storeReachable() ? 'reachable' : 'unreachable') : 'none',
    });
  });
  app.get('/openapi.json', (_req, res) => {
    res.json(doc);
  });
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(doc));

  const sources = { sharedToken: options.token, verifier: options.oidc?.verifier };
  const accessConfig = { open, audience: options.oidc?.audience };
  app.use(async (req: Request, res: Response, next: NextFunction) => {
    const need = needOf(req.method);
    const verdict = decideAdminAccess(await credentialsOf(req, sources), need, accessConfig);
    if (verdict.ok) {
      res.locals.principal = verdict.principal;
      return next();
    }
    log.info(
      { event: LOG_EVENTS.adminUnauthorized, method: req.method, path: req.path, ip: req.ip, reason: verdict.reason },
      verdict.code === 'PROXY_ERR_ADMIN_FORBIDDEN'
        ? 'admin request without the role it needs'
        : 'admin request without a valid token',
    );
    res.set('www-authenticate', verdict.challenge);
    fail(res, verdict.code, verdict.reason, verdict.required ? { required: verdict.required, need } : undefined);
  });
  app.use(express.json({ limit: '256kb', strict: true }));

  // /metrics, /api/shadow, /api/shadow/{id}, /api/breakers, /api/cdc and /api/fleet/workers: every worker's figures
  mountFleetViews(app, {
    fleet: options.workers ?? localLink(),
    store,
    metrics,
    shadower: options.shadower,
    breakers: options.breakers,
    cdc: options.cdc,
  });

  app.get('/api/table', (_req, res) => {
    const t = store.current;
    tagged(res, store.storeVersion).json({ version: t.version, ...t.spec, lastRejected: store.lastRejected ?? null });
  });
  app.post('/api/table/reload', async (_req, res) => {
    const result = await store.reloadFile();
    if (!result.ok) return invalid(res, result.issues, 'routes file');
    res.json({ version: store.current.version, changes: 'entries' in result ? result.entries : [] });
  });

  app.get('/api/routes', (_req, res) => {
    const t = store.current;
    tagged(res, t.version).json({ version: t.version, defaultTarget: t.spec.defaultTarget, routes: t.spec.routes });
  });
  app.get('/api/routes/:id', (req, res) => {
    const route = store.current.spec.routes.find((r) => r.id === req.params.id);
    if (!route) return fail(res, 'PROXY_ERR_ROUTE_NOT_FOUND', `no route "${req.params.id}"`);
    tagged(res, store.storeVersion).json({ version: store.current.version, route });
  });

  const changed = (res: Response, result: ApplyResult, routeId: string, status = 200): void => {
    if (!result.ok) return invalid(res, result.issues, 'route');
    const route = result.table.spec.routes.find((r) => r.id === routeId) ?? null;
    tagged(res, result.table.version)
      .status(status)
      .json({ version: result.table.version, route, changes: result.entries });
  };

  app.put('/api/routes/:id', async (req, res) => {
    const reason = reasonOf(req, res);
    if (reason === undefined) return;
    const result = await store.putRoute(req.params.id, req.body, meta(req, res, reason), conditionsOf(req));
    changed(res, result, req.params.id, result.created ? 201 : 200);
  });
  app.delete('/api/routes/:id', async (req, res) => {
    const reason = reasonOf(req, res);
    if (reason === undefined) return;
    changed(res, await store.deleteRoute(req.params.id, meta(req, res, reason), conditionsOf(req)), req.params.id);
  });
  app.put('/api/routes/:id/target', async (req, res) => {
    const body = parseAdminBody(req, res, ToggleBody, 'toggle');
    if (body === undefined) return;
    const { target, reason, expectedVersion } = body;
    const conditions = conditionsOf(req, expectedVersion);
    changed(res, await store.setTarget(req.params.id, target, meta(req, res, reason), conditions), req.params.id);
  });

  app.patch('/api/routes/:id', async (req, res) => {
    const body = parseAdminBody(req, res, PatchBody, 'route change');
    if (body === undefined) return;
    const { reason, expectedVersion, ...patch } = body;
    const route = store.current.spec.routes.find((r) => r.id === req.params.id);
    if (patch.planStatus !== undefined && route && !route.plan) {
      return fail(res, 'PROXY_ERR_INVALID_ADMIN_REQUEST', `route "${route.id}" has no plan`, {
        issues: [{ path: 'planStatus', message: 'the route has no plan' }],
      });
    }
    const conditions = conditionsOf(req, expectedVersion);
    changed(res, await store.updateRoute(req.params.id, patch, meta(req, res, reason), conditions), req.params.id);
  });

  app.get('/api/routes/:id/plan', async (req, res) => {
    const check = await plans.check(req.params.id);
    if (!check) return fail(res, 'PROXY_ERR_ROUTE_NOT_FOUND', `no route "${req.params.id}"`);
    res.json(check);
  });

  app.get('/api/stats', async (req, res) => {
    const ids = store.current.spec.routes.map((r) => r.id);
    // `?scope=process`: this process alone; otherwise the fleet's figures when there is a fleet
    if (options.fleetStats && req.query.scope !== 'process') return res.json(await options.fleetStats.snapshot(ids));
    res.json(stats.snapshot(ids));
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

  app.get('/api/audit', async (req, res) => {
    const q = AuditQuery.safeParse(req.query);
    if (!q.success) return fail(res, 'PROXY_ERR_INVALID_ADMIN_REQUEST', 'limit must be an integer between 1 and 10000');
    res.json({ entries: await store.readAudit({ limit: q.data.limit, routeId: q.data.route }) });
  });

  app.get('/api/fleet', async (_req, res) => {
    const planRunner = options.lease ? await options.lease.state() : null;
    res.json({ ...(options.fleet ? await options.fleet.view() : alone(store)), planRunner });
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
