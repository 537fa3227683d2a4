import { assignRequestId, type Logger } from '@warmhouse/shared';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Document, OpenAPIBackend } from 'openapi-backend';
import swaggerUi from 'swagger-ui-express';
import type { ReadModelQueries } from './data/read-models';
import type { TimeWindow } from './domain/reading';
import { isTelemetryError, fieldsOf, TELEMETRY_ERRORS } from './errors';
import { ingestHandler, type IngestDeps } from './http/ingest';
import { legacyRouter } from './http/legacy';
import { describeFields, problemOf, sendProblem } from './http/problem';
import { queryHandlers } from './http/queries';
import { fieldProblems, ingestBodyProblems, type AjvError } from './http/validation';
import type { CommandLog } from './kafka/command-log';
import type { TelemetryMetrics } from './metrics';
import { CDC_APPLIED_PATH, cdcAppliedHandler, type AppliedSource } from '@warmhouse/cdc';

/** One readiness check: a name and whether it passes (with a reason when not). */
export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

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
  readiness: () => Promise<ReadinessCheck[]>;
  /** refreshes gauges computed on demand (offset lag) before /metrics answers */
  beforeScrape?: () => Promise<void>;
  now?: () => Date;
  /**
   * CDC consumers whose applied positions `GET /cdc/applied` serves (the feed: a change is "applied" once its
   * readings are on the command log; the projector's lag behind that is `telemetry_projection_lag_*`)
   */
  cdcSources?: () => readonly AppliedSource[];
}

const API_PREFIX = '/api/v1/telemetry';
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/**
 * The telemetry HTTP API without listen(): write side (`POST /api/v1/telemetry`), query side, the legacy
 * current-temperature route, OpenAPI + Swagger UI, health and metrics.
 */
export function createApp(deps: AppDeps): express.Express {
  const { logger, metrics, openapi } = deps;
  const now = deps.now ?? (() => new Date());
  const app = express();
  app.set('etag', false);
  app.set('strict routing', true);
  app.set('case sensitive routing', true);
  app.disable('x-powered-by');

  app.use((req, res, next) => {
    const requestId = assignRequestId(req, res);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeLabel(req);
      metrics.httpRequests.inc({ route, method: req.method, status: String(res.statusCode) });
      metrics.httpDuration.observe({ route }, seconds);
      const entry = {
        event: 'http_request',
        requestId,
        method: req.method,
        path: req.path,
        status: res.statusCode,
        ms: seconds * 1000,
      };
      if (res.statusCode >= 500) logger.error(entry);
      else if (route === 'health' || route === 'metrics') logger.debug(entry);
      else logger.info(entry);
    });
    next();
  });

  app.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/health/ready', async (_req, res) => {
    const checks = await deps
      .readiness()
      .catch((err: unknown) => [{ name: 'readiness', ok: false, detail: String(err) }]);
    const ready = checks.every((c) => c.ok);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  });
  app.get(CDC_APPLIED_PATH, cdcAppliedHandler('telemetry', deps.cdcSources ?? (() => [])));
  app.get('/metrics', async (_req, res) => {
    await deps.beforeScrape?.().catch((err: unknown) => logger.warn({ err, event: 'metrics_refresh_failed' }));
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });

  app.get(`${API_PREFIX}/openapi.json`, (_req, res) => {
    res.json(deps.document);
  });
  app.use(
    `${API_PREFIX}/docs`,
    swaggerUi.serve,
    swaggerUi.setup(deps.document, { customSiteTitle: 'Warm House telemetry' }),
  );

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
    ...queryHandlers(deps.readModels, now),
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

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const instance = req.originalUrl;
    const requestId = String(req.headers['x-request-id'] ?? '');
    if (isTelemetryError(err)) {
      const level = err.status >= 500 ? 'error' : 'info';
      logger[level]({ event: 'request_failed', path: req.path, code: err.code, err }, err.message);
      const errors = fieldsOf(err);
      return sendProblem(res, problemOf(err.code, err.message, { instance, requestId, errors }));
    }
    const parser = err as { type?: string; status?: number; message?: string };
    if (parser.type === 'entity.too.large') {
      metrics.readingsRejected.inc({ reason: 'body_too_large' });
      return sendProblem(
        res,
        problemOf('TELEMETRY_ERR_BATCH_TOO_LARGE', `the body is larger than ${deps.limits.maxBodyBytes} bytes`, {
          errors: [{ in: 'body', field: '', message: `must be at most ${deps.limits.maxBodyBytes} bytes` }],
          instance,
          requestId,
        }),
      );
    }
    if (parser.type === 'entity.parse.failed') {
      metrics.readingsRejected.inc({ reason: 'malformed' });
      return sendProblem(
        res,
        problemOf('TELEMETRY_ERR_MALFORMED_BODY', `the body is not JSON: ${parser.message ?? ''}`, {
          errors: [{ in: 'body', field: '', message: 'is not valid JSON' }],
          instance,
          requestId,
        }),
      );
    }
    if (parser.status !== undefined && parser.status >= 400 && parser.status < 500) {
      return sendProblem(
        res,
        problemOf('TELEMETRY_ERR_MALFORMED_BODY', parser.message ?? 'unreadable body', { instance, requestId }),
      );
    }
    const code = (err as { code?: string }).code;
    const unavailable =
      typeof code === 'string' && (/^(08|57P)/.test(code) || ['ECONNREFUSED', 'ETIMEDOUT'].includes(code));
    logger.error({ event: 'request_failed', path: req.path, err }, 'unexpected error');
    return sendProblem(
      res,
      unavailable
        ? problemOf('TELEMETRY_ERR_UNAVAILABLE', TELEMETRY_ERRORS.TELEMETRY_ERR_UNAVAILABLE.title, {
            instance,
            requestId,
          })
        : problemOf('TELEMETRY_ERR_INTERNAL', 'internal error', { instance, requestId }),
    );
  });

  return app;
}

const fullPath = (req: Request) => req.originalUrl.split('?')[0] ?? req.originalUrl;

function routeLabel(req: Request): string {
  const p = fullPath(req);
  if (p.startsWith('/health/')) return 'health';
  if (p === '/metrics') return 'metrics';
  if (p.startsWith('/api/heating/')) return 'legacy_current_temperature';
  if (req.method === 'POST' && p === API_PREFIX) return 'ingest';
  if (p.endsWith('/latest')) return 'latest';
  if (p.endsWith('/history')) return 'history';
  if (p.endsWith('/summary')) return 'house_summary';
  if (p.startsWith(`${API_PREFIX}/docs`) || p.endsWith('openapi.json')) return 'docs';
  return 'other';
}
