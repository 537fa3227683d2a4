import express, { type Request, type Response } from 'express';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { observeRequests } from '@warmhouse/service-kit';
import { HeatingRepository } from './heating-repository';
import {
  heatingRoutes,
  matrixParametersRemoved,
  sendSpringError,
  springErrorHandler,
  type HeatingStore,
} from '@warmhouse/monolith-contract/src/wire';

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

  app.use(observeRequests({ logger }));

  const store: HeatingStore = {
    find: (id) => repo.findById(id),
    change: (id, patch) =>
      repo.update(id, (row) => ({
        isOn: patch.isOn ?? row.isOn,
        targetTemperature: patch.targetTemperature ?? row.targetTemperature,
      })),
  };
  app.use(matrixParametersRemoved('/api/heating')); // `/api/heating/1;jsessionid=abc` is `/api/heating/1`
  app.use('/api/heating', heatingRoutes({ store, logger }));

  app.use((req: Request, res: Response) => sendSpringError(res, 404, req.path));

  app.use(springErrorHandler(logger));

  return app;
}
