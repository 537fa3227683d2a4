import type { NextFunction, Request, Response } from 'express';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { CDC_APPLIED_PATH, cdcAppliedHandler, type AppliedSource } from '@warmhouse/cdc';
import { commonRouteOf, createServiceApp, type ReadinessCheck } from '@warmhouse/service-kit';
import { createDevicesService } from './devices-service';
import { createLegacyHeatingRouter, legacyErrorHandler, sendSpringError } from './http/legacy-routes';
import { matrixParametersRemoved } from '@warmhouse/monolith-contract/src/wire';
import { loadOpenApiDocument } from './http/openapi-document';
import { createV1Router } from './http/v1-routes';
import type { DeviceMetrics } from './metrics';
import type { Orchestrator } from './saga/orchestrator';

export type { ReadinessCheck };

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
  /** ownership on `/api/v1` (DEVICE_MANAGEMENT_REQUIRE_IDENTITY) */
  requireIdentity?: boolean;
}

const DOCS = { jsonPath: '/api/v1/openapi.json', uiPath: '/docs', title: 'Device management API' };

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
  requireIdentity = false,
}: AppDeps): Promise<ReturnType<typeof createServiceApp>> {
  const log = logger.child({ module: 'http' });
  const service = createDevicesService({ pool });
  const document = loadOpenApiDocument();
  const database: ReadinessCheck = {
    name: 'database',
    check: async () => {
      await pool.query('SELECT 1');
      return true;
    },
  };
  const app = createServiceApp({
    logger: log,
    metrics,
    routeOf: (req, res) =>
      commonRouteOf(req.originalUrl.split('?')[0] ?? '', DOCS) ??
      (res.locals.route as string | undefined) ??
      'unmatched',
    quietRoutes: ['health', 'metrics', 'cdc_applied'],
    readiness: () => [database, ...readiness],
    docs: { ...DOCS, document },
  });
  const route = (name: string) => (_req: Request, res: Response, next: NextFunction) => {
    res.locals.route = name;
    next();
  };

  // what the CDC consumers have applied, per topic: read by the proxy's CDC-aware reads and the CDC monitor
  app.get(CDC_APPLIED_PATH, route('cdc_applied'), cdcAppliedHandler('device-management', cdcSources));

  const v1 = await createV1Router({
    service,
    document,
    logger: log,
    orchestrator,
    firstReadingWithinSeconds,
    requireIdentity,
  });
  app.use('/api/v1', route('/api/v1'), v1);

  const legacy = createLegacyHeatingRouter({ service, logger: log });
  app.use(matrixParametersRemoved('/api/heating')); // as the monolith: `/api/heating/1;jsessionid=abc` is `/api/heating/1`
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
