import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import swaggerUi from 'swagger-ui-express';
import type { HttpMetrics } from './http-metrics';
import { observeRequests } from './observe-requests';
import { readinessReport, type ReadinessCheck } from './readiness';

export interface ServiceAppOptions {
  logger: Logger;
  metrics: HttpMetrics;
  /** a low-cardinality route label for a finished request (never the raw path) */
  routeOf: (req: Request, res: Response) => string;
  /** the parts that must work before the service takes traffic (evaluated on every `/health/ready`) */
  readiness: () => readonly ReadinessCheck[];
  /** refreshes gauges computed on demand before `/metrics` answers */
  beforeScrape?: () => Promise<void>;
  /** the OpenAPI document, served as JSON at `jsonPath` and as Swagger UI at `uiPath` */
  docs: { document: object; jsonPath: string; uiPath: string; title: string };
  /** route labels logged at debug only (scrapes and probes); default `health` and `metrics` */
  quietRoutes?: readonly string[];
}

/**
 * The part of every service's express app that is not its API: strict routing, no ETag or X-Powered-By, a request
 * id on every request, one log line and two metrics per request (health and metrics scrapes logged at debug),
 * `GET /health/live`, `GET /health/ready` (200 or 503 with every check's outcome), `GET /metrics` and the
 * OpenAPI document with Swagger UI. The service adds its routes to the app returned.
 */
export function createServiceApp(options: ServiceAppOptions): express.Express {
  const { logger, metrics, docs } = options;
  const app = express();
  app.set('strict routing', true);
  app.set('case sensitive routing', true);
  app.set('etag', false);
  app.disable('x-powered-by');

  app.use(
    observeRequests({
      logger,
      routeOf: options.routeOf,
      quietRoutes: options.quietRoutes ?? ['health', 'metrics'],
      onFinish: ({ method, route, status, seconds }) => {
        metrics.httpRequests.inc({ method, route, status: String(status) });
        metrics.httpDuration.observe({ method, route }, seconds);
      },
    }),
  );

  app.get('/health/live', (_req, res) => {
    res.json({ status: 'live' });
  });
  app.get('/health/ready', async (_req, res) => {
    const report = await readinessReport(options.readiness());
    res.status(report.status === 'ready' ? 200 : 503).json(report);
  });
  app.get('/metrics', async (_req, res) => {
    await options.beforeScrape?.().catch((err: unknown) => logger.warn({ err, event: 'metrics_refresh_failed' }));
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
  app.get(docs.jsonPath, (_req, res) => {
    res.json(docs.document);
  });
  app.use(docs.uiPath, swaggerUi.serve, swaggerUi.setup(docs.document, { customSiteTitle: docs.title }));
  return app;
}

/** The route label of the paths every service has: `health`, `metrics`, `docs`; undefined for the service's own. */
export function commonRouteOf(path: string, docs: { jsonPath: string; uiPath: string }): string | undefined {
  if (path.startsWith('/health/')) return 'health';
  if (path === '/metrics') return 'metrics';
  if (path === docs.jsonPath || path.startsWith(docs.uiPath)) return 'docs';
  return undefined;
}
