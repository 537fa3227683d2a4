import { describeFields, sendProblem, type Logger } from '@warmhouse/shared';
import {
  commonRouteOf,
  createServiceApp,
  fieldProblems,
  problemHandler,
  type AjvError,
  type ReadinessCheck,
} from '@warmhouse/service-kit';
import express, { type NextFunction, type Request, type Response } from 'express';
import { matrixParametersRemoved } from '@warmhouse/monolith-contract/src/wire';
import type { Document, OpenAPIBackend } from 'openapi-backend';
import type { ReadModelQueries } from './data/read-models';
import type { TimeWindow } from './domain/reading';
import { isTelemetryError, problemOf } from './errors';
import { ingestHandler, type IngestDeps } from './http/ingest';
import { legacyRouter } from './http/legacy';
import { identityGate, type OwnershipDeps } from './http/ownership';
import { queryHandlers } from './http/queries';
import { ingestBodyProblems } from './http/validation';
import type { CommandLog } from './kafka/command-log';
import type { TelemetryMetrics } from './metrics';
import { CDC_APPLIED_PATH, cdcAppliedHandler, type AppliedSource } from '@warmhouse/cdc';

export type { ReadinessCheck };

/** Everything the HTTP app needs; no module-level state, so tests can build several. */
export interface AppDeps {
  logger: Logger;
  metrics: TelemetryMetrics;
  /** initialised openapi-backend over {@link AppDeps.document}; createApp registers its handlers on it (one app each) */
  openapi: OpenAPIBackend;
  document: Document;
  commandLog: Pick<CommandLog, 'append'>;
  readModels: ReadModelQueries;
  /** provisioning of devices the connect-device saga provisioned, for ingest (one lookup per request) */
  provisioning: IngestDeps['provisioning'];
  limits: { maxBatch: number; maxBodyBytes: number; window: TimeWindow };
  /** readiness checks of the parts this process runs */
  readiness: () => readonly ReadinessCheck[];
  /** refreshes gauges computed on demand (offset lag) before /metrics answers */
  beforeScrape?: () => Promise<void>;
  now?: () => Date;
  /**
   * CDC consumers whose applied positions `GET /cdc/applied` serves (the feed: a change is "applied" once its
   * readings are on the command log; the projector's lag behind that is `telemetry_projection_lag_*`)
   */
  cdcSources?: () => readonly AppliedSource[];
  /** ownership of `/api/v1/telemetry` (TELEMETRY_REQUIRE_IDENTITY); default: off, everything readable */
  ownership?: OwnershipDeps;
}

const API_PREFIX = '/api/v1/telemetry';
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
const DOCS = { jsonPath: `${API_PREFIX}/openapi.json`, uiPath: `${API_PREFIX}/docs`, title: 'Warm House telemetry' };

/**
 * The telemetry HTTP API without listen(): write side (`POST /api/v1/telemetry`), query side, the legacy
 * current-temperature route, OpenAPI + Swagger UI, health and metrics.
 */
export function createApp(deps: AppDeps): express.Express {
  const { logger, metrics, openapi } = deps;
  const now = deps.now ?? (() => new Date());
  const app = createServiceApp({
    logger,
    metrics,
    routeOf: (req) => routeLabel(req),
    readiness: deps.readiness,
    beforeScrape: deps.beforeScrape,
    docs: { ...DOCS, document: deps.document },
  });
  app.get(CDC_APPLIED_PATH, cdcAppliedHandler('telemetry', deps.cdcSources ?? (() => [])));

  app.use(matrixParametersRemoved('/api/heating')); // as the monolith: `/api/heating/1;jsessionid=abc` is `/api/heating/1`
  app.use('/api/heating', legacyRouter({ readModels: deps.readModels, logger }));

  const bodyProblems = ingestBodyProblems(openapi);
  const ingest = ingestHandler({
    commandLog: deps.commandLog,
    metrics,
    logger,
    window: deps.limits.window,
    now,
    provisioning: deps.provisioning,
  });
  openapi.register({
    ...queryHandlers(deps.readModels, now, deps.ownership?.ownersOf),
    ingestTelemetry: ingest,
    validationFail: async (c, req: Request, res: Response) => {
      const all = fieldProblems((c.validation.errors ?? []) as AjvError[]);
      const ingest = c.operation?.operationId === 'ingestTelemetry';
      // the body's oneOf errors are replaced by those of the branch the body aims at
      const errors = ingest ? [...all.filter((e) => e.in !== 'body'), ...bodyProblems(c.request.requestBody)] : all;
      if (ingest) metrics.readingsRejected.inc({ reason: 'schema' });
      sendProblem(
        res,
        problemOf('TELEMETRY_ERR_VALIDATION', describeFields(errors), {
          errors,
          instance: req.originalUrl,
          requestId: String(req.headers['x-request-id'] ?? ''),
        }),
      );
    },
    notFound: async (_c, req: Request, res: Response) => {
      sendProblem(
        res,
        problemOf('TELEMETRY_ERR_NO_SUCH_PATH', `no operation at ${fullPath(req)}`, { instance: req.originalUrl }),
      );
    },
    methodNotAllowed: async (_c, req: Request, res: Response) => {
      const path = fullPath(req);
      const allowed = METHODS.filter((m) => openapi.router.matchOperation({ method: m, path, headers: {} }));
      res.setHeader('Allow', allowed.map((m) => m.toUpperCase()).join(', '));
      sendProblem(
        res,
        problemOf('TELEMETRY_ERR_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}`, {
          instance: req.originalUrl,
        }),
      );
    },
  });

  app.use(API_PREFIX, identityGate(deps.ownership?.required ?? false, API_PREFIX));
  const { maxBatch, maxBodyBytes } = deps.limits;
  const json = express.json({ limit: maxBodyBytes, type: () => true });
  app.post(API_PREFIX, (req: Request, res: Response, next: NextFunction) => {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') {
      return sendProblem(
        res,
        problemOf(
          'TELEMETRY_ERR_UNSUPPORTED_MEDIA_TYPE',
          `Content-Type must be application/json, got ${type || 'none'}`,
          {
            errors: [{ in: 'header', field: 'Content-Type', message: 'must be application/json' }],
            instance: req.originalUrl,
          },
        ),
      );
    }
    json(req, res, (err?: unknown) => {
      if (err) return next(err);
      const body = req.body as { readings?: unknown } | undefined;
      if (body && typeof body === 'object' && Array.isArray(body.readings) && body.readings.length > maxBatch) {
        metrics.readingsRejected.inc({ reason: 'batch_too_large' });
        return sendProblem(
          res,
          problemOf(
            'TELEMETRY_ERR_BATCH_TOO_LARGE',
            `readings (body): ${body.readings.length} readings, at most ${maxBatch} per request`,
            {
              errors: [
                {
                  in: 'body',
                  field: 'readings',
                  message: `must have at most ${maxBatch} readings (got ${body.readings.length})`,
                },
              ],
              instance: req.originalUrl,
            },
          ),
        );
      }
      next();
    });
  });
  app.use(API_PREFIX, (req: Request, res: Response, next: NextFunction) => {
    openapi
      .handleRequest(
        {
          method: req.method,
          path: fullPath(req),
          query: req.query as Record<string, string | string[]>,
          headers: req.headers as Record<string, string | string[]>,
          body: req.body as unknown,
        },
        req,
        res,
      )
      .catch(next);
  });

  app.use((req: Request, res: Response) => {
    sendProblem(
      res,
      problemOf('TELEMETRY_ERR_NO_SUCH_PATH', `no operation at ${req.path}`, { instance: req.originalUrl }),
    );
  });

  app.use(
    problemHandler({
      logger,
      catalog: { is: isTelemetryError, problem: problemOf },
      codes: {
        'too-large': 'TELEMETRY_ERR_BATCH_TOO_LARGE',
        malformed: 'TELEMETRY_ERR_MALFORMED_BODY',
        unavailable: 'TELEMETRY_ERR_UNAVAILABLE',
        internal: 'TELEMETRY_ERR_INTERNAL',
      },
      maxBodyBytes: `${deps.limits.maxBodyBytes} bytes`,
      onBodyRefused: (kind) =>
        metrics.readingsRejected.inc({ reason: kind === 'too-large' ? 'body_too_large' : 'malformed' }),
    }),
  );

  return app;
}

const fullPath = (req: Request) => req.originalUrl.split('?')[0] ?? req.originalUrl;

function routeLabel(req: Request): string {
  const p = fullPath(req);
  const common = commonRouteOf(p, DOCS);
  if (common) return common;
  if (p === CDC_APPLIED_PATH) return 'cdc_applied';
  if (p.startsWith('/api/heating/')) return 'legacy_current_temperature';
  if (req.method === 'POST' && p === API_PREFIX) return 'ingest';
  if (p.endsWith('/latest')) return 'latest';
  if (p.endsWith('/history')) return 'history';
  if (p.endsWith('/summary')) return 'house_summary';
  return 'other';
}
