import express, { type NextFunction, type Request, type Response } from 'express';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { assignRequestId } from '@warmhouse/shared';
import { HeatingRepository, type HeatingSystemRow } from './heating-repository';
import {
  heatingSystemJson,
  javaDouble,
  JacksonCoercionError,
  parseHeatingSettings,
  parseJavaDouble,
  parseJavaLong,
  sendSpringError,
} from '@warmhouse/monolith-contract/src/wire';

const MAX_BODY = '1mb';

/** Thrown inside handlers; carries the status Spring would answer with. */
class SpringStatus extends Error {
  constructor(
    readonly status: number,
    reason: string,
  ) {
    super(reason);
  }
}

function idFrom(req: Request): bigint {
  const id = parseJavaLong(String(req.params.id));
  if (id === undefined) throw new SpringStatus(400, `Failed to convert path variable id: ${String(req.params.id)}`);
  return id;
}

/** The monolith logs "HeatingSystem not found" and lets it surface as a 500. */
function found(row: HeatingSystemRow | undefined, id: bigint): HeatingSystemRow {
  if (!row) throw new SpringStatus(500, `HeatingSystem not found: ${id}`);
  return row;
}

function sendJson(res: Response, json: string): void {
  // a Buffer, so express adds no charset: the monolith sends plain `application/json`
  res.status(200).setHeader('Content-Type', 'application/json');
  res.send(Buffer.from(json));
}

/** Media types Spring's Jackson converter reads: application/json and application/*+json. */
function isJsonMediaType(header: string | undefined): boolean {
  const type = (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || /^application\/[\w.-]+\+json$/.test(type);
}

type Handler = (req: Request, res: Response) => Promise<void>;
const wrap = (h: Handler) => (req: Request, res: Response, next: NextFunction) => h(req, res).catch(next);

/** Answers OPTIONS and unsupported methods on a known path the way Spring MVC does. */
function methods(allowed: string[]) {
  const allowHeader = [...allowed, 'OPTIONS'].join(',');
  return (req: Request, res: Response) => {
    res.setHeader('Allow', allowHeader);
    if (req.method === 'OPTIONS') {
      res.status(200).end();
      return;
    }
    sendSpringError(res, 405, req.originalUrl.split('?')[0] ?? req.originalUrl);
  };
}

/**
 * The Warm House monolith's HTTP API (`/api/heating`), reproduced with its observable behaviour:
 * same paths, bodies, statuses, number formatting and Spring error bodies.
 */
export function createApp({ pool, logger }: { pool: Pool; logger: Logger }): express.Express {
  const repo = new HeatingRepository(pool);
  const app = express();
  app.set('strict routing', true); // Spring Boot 3 no longer matches a trailing slash
  app.set('case sensitive routing', true);
  app.set('etag', false);
  app.disable('x-powered-by');

  app.use((req, res, next) => {
    const requestId = assignRequestId(req, res);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const level = res.statusCode >= 500 ? 'error' : 'info';
      logger[level]({
        event: 'http_request',
        requestId,
        method: req.method,
        path: req.path,
        status: res.statusCode,
        ms,
      });
    });
    next();
  });

  const heating = express.Router({ strict: true, caseSensitive: true });

  heating.get(
    '/:id',
    wrap(async (req, res) => {
      const id = idFrom(req);
      sendJson(res, heatingSystemJson(found(await repo.findById(id), id)));
    }),
  );

  heating.put(
    '/:id',
    express.raw({ type: () => true, limit: MAX_BODY }),
    wrap(async (req, res) => {
      const id = idFrom(req);
      if (!isJsonMediaType(req.headers['content-type'])) {
        throw new SpringStatus(415, `Content-Type '${req.headers['content-type'] ?? ''}' is not supported`);
      }
      const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
      if (raw.trim() === '' || raw.trim() === 'null') throw new SpringStatus(400, 'Required request body is missing');
      const settings = parseHeatingSettings(raw);
      const updated = await repo.update(id, () => settings);
      sendJson(res, heatingSystemJson(found(updated, id)));
    }),
  );
  heating.all('/:id', methods(['GET', 'HEAD', 'PUT']));

  const command = (
    path: string,
    change: (req: Request) => (row: HeatingSystemRow) => Pick<HeatingSystemRow, 'isOn' | 'targetTemperature'>,
  ) => {
    heating.post(
      path,
      wrap(async (req, res) => {
        const id = idFrom(req);
        const apply = change(req); // request parameters are validated before the entity is loaded, as in Spring
        found(await repo.update(id, apply), id);
        res.status(204).end();
      }),
    );
    heating.all(path, methods(['POST']));
  };

  command('/:id/turn-on', () => (row) => ({ isOn: true, targetTemperature: row.targetTemperature }));
  command('/:id/turn-off', () => (row) => ({ isOn: false, targetTemperature: row.targetTemperature }));
  command('/:id/set-temperature', (req) => {
    const given = req.query.temperature;
    const text = Array.isArray(given) ? given[0] : given;
    if (typeof text !== 'string' || text.trim() === '') {
      throw new SpringStatus(
        400,
        "Required request parameter 'temperature' for method parameter type Double is not present",
      );
    }
    const temperature = parseJavaDouble(text);
    if (temperature === undefined)
      throw new SpringStatus(400, `Failed to convert value of type 'java.lang.String' to 'Double': ${text}`);
    return (row) => ({ isOn: row.isOn, targetTemperature: temperature });
  });

  heating.get(
    '/:id/current-temperature',
    wrap(async (req, res) => {
      const id = idFrom(req);
      sendJson(res, javaDouble(found(await repo.findById(id), id).currentTemperature));
    }),
  );
  heating.all('/:id/current-temperature', methods(['GET', 'HEAD']));

  app.use('/api/heating', heating);

  app.use((req: Request, res: Response) => sendSpringError(res, 404, req.path));

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const path = req.originalUrl.split('?')[0] ?? req.originalUrl;
    if (err instanceof SpringStatus) {
      if (err.status >= 500) logger.error({ event: 'request_failed', path, reason: err.message }, err.message);
      else logger.info({ event: 'request_rejected', path, status: err.status, reason: err.message });
      return sendSpringError(res, err.status, path);
    }
    if (err instanceof JacksonCoercionError) {
      logger.info({ event: 'request_rejected', path, status: 400, reason: err.message });
      return sendSpringError(res, 400, path);
    }
    const status = (err as { status?: number; type?: string }).status;
    if (status === 413 || status === 400) return sendSpringError(res, status, path); // body too large / unreadable
    logger.error({ event: 'request_failed', path, err }, 'unexpected error');
    return sendSpringError(res, 500, path);
  });

  return app;
}
