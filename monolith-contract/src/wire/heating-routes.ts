import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { heatingSystemJson, parseHeatingSettings, type HeatingSystemRecord } from './heating-json';
import { javaDouble, JacksonCoercionError, parseJavaDouble, parseJavaLong } from './java-json';
import { sendSpringError } from './spring-errors';

const MAX_BODY = '1mb';

/** What a write changes: `on` and/or the target temperature (a PUT sets both). */
export interface HeatingChange {
  isOn?: boolean;
  targetTemperature?: number;
}

/** A heating system as the legacy routes read it: the DTO's fields plus the current temperature. */
export interface HeatingView extends HeatingSystemRecord {
  currentTemperature: number;
}

/** Where an implementation of the monolith's `/api/heating` API keeps its heating systems. */
export interface HeatingStore {
  find(id: bigint): Promise<HeatingView | undefined>;
  /** applies `change` to heating system `id`; undefined when there is none */
  change(id: bigint, change: HeatingChange, req: Request): Promise<HeatingView | undefined>;
}

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
function found(row: HeatingView | undefined, id: bigint): HeatingView {
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

/** `set-temperature`'s request parameter, validated before the entity is loaded, as Spring does. */
function temperatureOf(req: Request): HeatingChange {
  const given = req.query.temperature;
  const text = Array.isArray(given) ? given[0] : given;
  if (typeof text !== 'string' || text.trim() === '') {
    throw new SpringStatus(
      400,
      "Required request parameter 'temperature' for method parameter type Double is not present",
    );
  }
  const temperature = parseJavaDouble(text);
  if (temperature === undefined) {
    throw new SpringStatus(400, `Failed to convert value of type 'java.lang.String' to 'Double': ${text}`);
  }
  return { targetTemperature: temperature };
}

export interface HeatingRoutesOptions {
  store: HeatingStore;
  logger: Logger;
  /** called after a write succeeded, before the answer is sent (e.g. to mark a dry run) */
  afterWrite?: (req: Request, res: Response) => void;
}

/**
 * The monolith's `/api/heating` API (mount it there) with its observable behaviour: same paths, bodies, statuses,
 * number formatting, Spring error bodies and method handling, over any {@link HeatingStore}. The stand-in serves it
 * from the monolith's table, device management from its own data.
 */
export function heatingRoutes({ store, logger, afterWrite }: HeatingRoutesOptions): express.Router {
  const heating = express.Router({ strict: true, caseSensitive: true });
  const change = async (req: Request, res: Response, patch: HeatingChange): Promise<HeatingView> => {
    const id = idFrom(req);
    const row = found(await store.change(id, patch, req), id);
    afterWrite?.(req, res);
    return row;
  };

  heating.get(
    '/:id',
    wrap(async (req, res) => {
      const id = idFrom(req);
      sendJson(res, heatingSystemJson(found(await store.find(id), id)));
    }),
  );
  heating.put(
    '/:id',
    express.raw({ type: () => true, limit: MAX_BODY }),
    wrap(async (req, res) => {
      idFrom(req);
      if (!isJsonMediaType(req.headers['content-type'])) {
        throw new SpringStatus(415, `Content-Type '${req.headers['content-type'] ?? ''}' is not supported`);
      }
      const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
      if (raw.trim() === '' || raw.trim() === 'null') throw new SpringStatus(400, 'Required request body is missing');
      const { isOn, targetTemperature } = parseHeatingSettings(raw);
      sendJson(res, heatingSystemJson(await change(req, res, { isOn, targetTemperature })));
    }),
  );
  heating.all('/:id', methods(['GET', 'HEAD', 'PUT']));

  const command = (path: string, patchOf: (req: Request) => HeatingChange) => {
    heating.post(
      path,
      wrap(async (req, res) => {
        idFrom(req);
        await change(req, res, patchOf(req));
        res.status(204).end();
      }),
    );
    heating.all(path, methods(['POST']));
  };
  command('/:id/turn-on', () => ({ isOn: true }));
  command('/:id/turn-off', () => ({ isOn: false }));
  command('/:id/set-temperature', temperatureOf);

  heating.get(
    '/:id/current-temperature',
    wrap(async (req, res) => {
      const id = idFrom(req);
      sendJson(res, javaDouble(found(await store.find(id), id).currentTemperature));
    }),
  );
  heating.all('/:id/current-temperature', methods(['GET', 'HEAD']));
  heating.use(springErrorHandler(logger));
  return heating;
}

/** Spring's default error bodies for whatever went wrong on a legacy route (or an unknown path). */
export function springErrorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
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
    const status = (err as { status?: number }).status;
    if (status === 413 || status === 400) return sendSpringError(res, status, path); // body too large / unreadable
    logger.error({ event: 'request_failed', path, err }, 'unexpected error');
    return sendSpringError(res, 500, path);
  };
}
