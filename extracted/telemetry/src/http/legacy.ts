import type { Logger } from '@warmhouse/shared';
import { javaDouble, parseJavaLong } from '@warmhouse/monolith-contract/src/wire';
// not exported from the stand-in's index (yet): see the report to the lead
import { sendSpringError } from '@warmhouse/monolith-contract/src/wire';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { ReadModelQueries } from '../data/read-models';
import { legacyDeviceId } from '../domain/legacy';

const pathOf = (req: Request) => req.originalUrl.split('?')[0] ?? req.originalUrl;

/**
 * `GET /api/heating/{id}/current-temperature` with the monolith's exact behaviour, served from the latest-value
 * read model (device `legacy-heating-<id>`, metric `temperature`, fed by CDC): a bare JSON number written as a
 * Java double (`21.0`), plain `application/json`; Spring's error body with 400 for an id that is not a Java long,
 * 500 for an id the monolith does not have (never had, or deleted), 405 for other methods on the path.
 */
export function legacyRouter({ readModels, logger }: { readModels: ReadModelQueries; logger: Logger }): express.Router {
  const heating = express.Router({ strict: true, caseSensitive: true });
  const log = logger.child({ module: 'legacy-routes' });

  heating.get('/:id/current-temperature', (req: Request, res: Response, next: NextFunction) => {
    const id = parseJavaLong(String(req.params.id));
    if (id === undefined) {
      log.info({ event: 'request_rejected', path: pathOf(req), status: 400 }, `Failed to convert path variable id`);
      return sendSpringError(res, 400, pathOf(req));
    }
    readModels
      .legacyCurrentTemperature(legacyDeviceId('heating', id))
      .then((value) => {
        if (value === undefined) {
          // the monolith logs "HeatingSystem not found" and lets it surface as a 500
          log.error({ event: 'request_failed', path: pathOf(req), reason: `HeatingSystem not found: ${id}` });
          return sendSpringError(res, 500, pathOf(req));
        }
        res.status(200).setHeader('Content-Type', 'application/json');
        res.send(Buffer.from(javaDouble(value))); // a Buffer, so express adds no charset
      })
      .catch(next);
  });

  heating.all('/:id/current-temperature', (req: Request, res: Response) => {
    res.setHeader('Allow', 'GET,HEAD,OPTIONS');
    if (req.method === 'OPTIONS') {
      res.status(200).end();
      return;
    }
    sendSpringError(res, 405, pathOf(req));
  });

  heating.use((req: Request, res: Response) => sendSpringError(res, 404, pathOf(req)));

  heating.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    log.error({ event: 'request_failed', path: pathOf(req), err }, 'legacy current-temperature failed');
    sendSpringError(res, 500, pathOf(req));
  });
  return heating;
}
