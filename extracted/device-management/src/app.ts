import express, { type NextFunction, type Request, type Response } from 'express';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import swaggerUi from 'swagger-ui-express';
import { CDC_APPLIED_PATH, cdcAppliedHandler, type AppliedSource } from '@warmhouse/cdc';
import { assignRequestId } from '@warmhouse/shared';
import { createDevicesService } from './devices-service';
import { createLegacyHeatingRouter, legacyErrorHandler, sendSpringError } from './http/legacy-routes';
import { loadOpenApiDocument } from './http/openapi-document';
import { createV1Router } from './http/v1-routes';
import type { DeviceMetrics } from './metrics';
import type { Orchestrator } from './saga/orchestrator';

/** A readiness check: resolves true when the part is ready, or a reason why not. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<true | string>;
}

export interface AppDeps {
  pool: Pool;
  logger: Logger;
  metrics: DeviceMetrics;
  /** extra readiness checks (CDC consumer, relay…); the database is always checked */
  readiness?: readonly ReadinessCheck[];
  /** CDC consumers whose applied positions `GET /cdc/applied` serves */
  cdcSources?: readonly AppliedSource[];
  /** the connect-device saga (POST /api/v1/devices/connect); without it those operations answer 503 */
  orchestrator?: Orchestrator;
  /** default deadline of a connect request for the first reading, s */
  firstReadingWithinSeconds?: number;
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} timed out`)), ms).unref()),
  ]);

/**
 * The device-management HTTP app, without listen(): the legacy `/api/heating` routes (monolith-identical),
 * the new `/api/v1/devices` API with Swagger UI at `/docs`, health at `/health/live` and `/health/ready`,
 * Prometheus metrics at `/metrics`, applied CDC positions at `/cdc/applied`.
 */
export async function createApp({
  pool,
  logger,
  metrics,
  readiness = [],
  cdcSources = [],
  orchestrator,
  firstReadingWithinSeconds = 600,
}: AppDeps): Promise<express.Express> {
  const log = logger.child({ module: 'http' });
  const service = createDevicesService({ pool });
  const document = loadOpenApiDocument();
  const app = express();
  app.set('strict routing', true);
  app.set('case sensitive routing', true);
  app.set('etag', false);
  app.disable('x-powered-by');

  app.use((req, res, next) => {
    const requestId = assignRequestId(req, res);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (res.locals.route as string | undefined) ?? 'unmatched';
      metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      metrics.httpDuration.observe({ method: req.method, route }, seconds);
      if (route.startsWith('/health') || route === '/metrics' || route === CDC_APPLIED_PATH) return;
      const level = res.statusCode >= 500 ? 'error' : 'info';
      log[level]({
        event: 'http_request',
        requestId,
        method: req.method,
        path: req.path,
        route,
        status: res.statusCode,
        ms: seconds * 1000,
      });
    });
    next();
  });
  const route = (name: string) => (_req: Request, res: Response, next: NextFunction) => {
    res.locals.route = name;
    next();
  };

  app.get('/health/live', route('/health/live'), (_req, res) => {
    res.json({ status: 'live' });
  });
  app.get('/health/ready', route('/health/ready'), async (_req, res) => {
    const checks: ReadinessCheck[] = [
      {
        name: 'database',
        check: async () => {
          await withTimeout(pool.query('SELECT 1'), 2_000, 'database ping');
          return true;
        },
      },
      ...readiness,
    ];
    const results: Record<string, string> = {};
    let ready = true;
    for (const c of checks) {
      const outcome = await c.check().catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
      results[c.name] = outcome === true ? 'ready' : outcome;
      if (outcome !== true) ready = false;
    }
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks: results });
  });
  app.get('/metrics', route('/metrics'), async (_req, res) => {
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });

  // what the CDC consumers have applied, per topic: read by the proxy's CDC-aware reads and the CDC monitor
  app.get(CDC_APPLIED_PATH, route(CDC_APPLIED_PATH), cdcAppliedHandler('device-management', cdcSources));

  app.get('/api/v1/openapi.json', route('/api/v1/openapi.json'), (_req, res) => {
    res.json(document);
  });
  app.use(
    '/docs',
    route('/docs'),
    swaggerUi.serve,
    swaggerUi.setup(document, { customSiteTitle: 'Device management API' }),
  );

  const v1 = await createV1Router({ service, document, logger: log, orchestrator, firstReadingWithinSeconds });
  app.use('/api/v1', route('/api/v1'), v1);

  const legacy = createLegacyHeatingRouter({ service, logger: log });
  app.use(
    '/api/heating',
    (req, res, next) => {
      res.locals.route = legacyRouteOf(req.path);
      next();
    },
    legacy,
  );

  // every other path answers like the monolith: Spring's 404
  app.use((req: Request, res: Response) => sendSpringError(res, 404, req.path));
  app.use(legacyErrorHandler(log));
  return app;
}

/** A low-cardinality route label for a path under /api/heating. */
function legacyRouteOf(path: string): string {
  const m = /^\/[^/]+(\/(turn-on|turn-off|set-temperature|current-temperature))?$/.exec(path);
  if (!m) return '/api/heating (unmatched)';
  return `/api/heating/{id}${m[1] ?? ''}`;
}
