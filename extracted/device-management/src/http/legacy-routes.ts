import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { Device } from '../domain/device';
import type { DevicesService, SettingsPatch } from '../devices-service';
import {
  heatingSystemJson,
  JacksonCoercionError,
  javaDouble,
  parseHeatingSettings,
  parseJavaDouble,
  parseJavaLong,
  sendSpringError,
} from '@warmhouse/monolith-contract/src/wire';
import { DRY_RUN_HEADER } from './v1-routes';

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
function found(device: Device | undefined, id: bigint): Device {
  if (!device) throw new SpringStatus(500, `HeatingSystem not found: ${id}`);
  return device;
}

const legacyRow = (d: Device) => ({
  id: d.legacyId ?? 0n,
  isOn: d.settings.on ?? false,
  targetTemperature: d.settings.targetTemperature ?? 0,
  currentTemperature: d.currentTemperature ?? 0,
});

function sendJson(res: Response, json: string): void {
  // a Buffer, so express adds no charset: the monolith sends plain `application/json`
  res.status(200).setHeader('Content-Type', 'application/json');
  res.send(Buffer.from(json));
}

function isJsonMediaType(header: string | undefined): boolean {
  const type = (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || /^application\/[\w.-]+\+json$/.test(type);
}

type Handler = (req: Request, res: Response) => Promise<void>;
const wrap = (h: Handler) => (req: Request, res: Response, next: NextFunction) => h(req, res).catch(next);

/** OPTIONS and unsupported methods on a known path, the way Spring MVC answers them. */
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

const dryRun = (req: Request) => req.headers[DRY_RUN_HEADER] === '1';

/**
 * The monolith's `/api/heating` API served from device management's own data: same paths, statuses, bytes and
 * quirks (see monolith-standin/src/app.ts, which this mirrors route for route). Heating systems are looked up
 * by their monolith id (`legacyId`); devices registered here have none and are invisible on these routes.
 * Writes go through the devices service: local commit + outbox + write-back to the monolith.
 */
export function createLegacyHeatingRouter({
  service,
  logger,
}: {
  service: DevicesService;
  logger: Logger;
}): express.Router {
  const heating = express.Router({ strict: true, caseSensitive: true });
  const byLegacyId = (id: bigint) => service.find({ legacyId: id });
  const change = async (req: Request, id: bigint, patch: SettingsPatch) =>
    found(
      await service.changeSettings({ legacyId: id }, patch, {
        dryRun: dryRun(req),
        requestId: String(req.headers['x-request-id'] ?? '') || null,
      }),
      id,
    );
  const markDryRun = (req: Request, res: Response) => {
    if (dryRun(req)) res.setHeader('X-Strangler-Dry-Run', '1');
  };

  heating.get(
    '/:id',
    wrap(async (req, res) => {
      const id = idFrom(req);
      sendJson(res, heatingSystemJson(legacyRow(found(await byLegacyId(id), id))));
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
      const device = await change(req, id, { on: settings.isOn, targetTemperature: settings.targetTemperature });
      markDryRun(req, res);
      sendJson(res, heatingSystemJson(legacyRow(device)));
    }),
  );
  heating.all('/:id', methods(['GET', 'HEAD', 'PUT']));

  const command = (path: string, patchOf: (req: Request) => SettingsPatch) => {
    heating.post(
      path,
      wrap(async (req, res) => {
        const id = idFrom(req);
        const patch = patchOf(req); // request parameters are validated before the entity is loaded, as in Spring
        await change(req, id, patch);
        markDryRun(req, res);
        res.status(204).end();
      }),
    );
    heating.all(path, methods(['POST']));
  };

  command('/:id/turn-on', () => ({ on: true }));
  command('/:id/turn-off', () => ({ on: false }));
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
    return { targetTemperature: temperature };
  });

  heating.get(
    '/:id/current-temperature',
    wrap(async (req, res) => {
      const id = idFrom(req);
      sendJson(res, javaDouble(found(await byLegacyId(id), id).currentTemperature ?? 0));
    }),
  );
  heating.all('/:id/current-temperature', methods(['GET', 'HEAD']));

  heating.use((err: unknown, req: Request, res: Response, next: NextFunction) =>
    legacyErrorHandler(logger)(err, req, res, next),
  );
  return heating;
}

/** Spring's default error bodies for whatever went wrong on a legacy route (or an unknown path). */
export function legacyErrorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
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
    if (status === 413 || status === 400) return sendSpringError(res, status, path);
    logger.error({ event: 'request_failed', path, err }, 'unexpected error');
    return sendSpringError(res, 500, path);
  };
}

export { sendSpringError };
