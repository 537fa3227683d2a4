import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { Device } from '../domain/device';
import type { DevicesService } from '../devices-service';
import { heatingRoutes, type HeatingView } from '@warmhouse/monolith-contract/src/wire';
import { DRY_RUN_HEADER } from './v1-routes';

export { sendSpringError, springErrorHandler as legacyErrorHandler } from '@warmhouse/monolith-contract/src/wire';

const legacyView = (d: Device | undefined): HeatingView | undefined =>
  d && {
    id: d.legacyId ?? 0n,
    isOn: d.settings.on ?? false,
    targetTemperature: d.settings.targetTemperature ?? 0,
    currentTemperature: d.currentTemperature ?? 0,
  };

const dryRun = (req: Request) => req.headers[DRY_RUN_HEADER] === '1';

/**
 * The monolith's `/api/heating` API served from device management's own data: same paths, statuses, bytes and
 * quirks (the routes are the contract's, `heatingRoutes`, shared with the stand-in). Heating systems are looked up
 * by their monolith id (`legacyId`); devices registered here have none and are invisible on these routes.
 * Writes go through the devices service: local commit + outbox + write-back to the monolith.
 */
export function createLegacyHeatingRouter({ service, logger }: { service: DevicesService; logger: Logger }) {
  return heatingRoutes({
    logger,
    store: {
      find: async (id) => legacyView(await service.find({ legacyId: id })),
      change: async (id, change, req) =>
        legacyView(
          await service.changeSettings(
            { legacyId: id },
            {
              ...(change.isOn === undefined ? {} : { on: change.isOn }),
              ...(change.targetTemperature === undefined ? {} : { targetTemperature: change.targetTemperature }),
            },
            { dryRun: dryRun(req), requestId: String(req.headers['x-request-id'] ?? '') || null },
          ),
        ),
    },
    afterWrite: (req: Request, res: Response) => {
      if (dryRun(req)) res.setHeader('X-Strangler-Dry-Run', '1');
    },
  });
}
