import type { Logger } from '@warmhouse/shared';
import type { Request, Response } from 'express';
import type { Context } from 'openapi-backend';
import { checkReadings, type ReadingInput, type TimeWindow } from '../domain/reading';
import type { CommandLog } from '../kafka/command-log';
import type { TelemetryMetrics } from '../metrics';
import { describeFields, problemOf, sendProblem } from './problem';

export const DRY_RUN_HEADER = 'x-strangler-dry-run';

export interface IngestDeps {
  commandLog: Pick<CommandLog, 'append'>;
  metrics: TelemetryMetrics;
  logger: Logger;
  window: TimeWindow;
  now: () => Date;
}

/**
 * `POST /api/v1/telemetry` after the document's validation passed: the rules a schema cannot say, then the
 * command log. 202 only once Kafka acknowledged every reading with acks=all; a failure there is a 503 and the
 * whole request may be retried (partial appends are de-duplicated by the read side's duplicate rules).
 */
export function ingestHandler(deps: IngestDeps) {
  return async (c: Context, req: Request, res: Response): Promise<void> => {
    const body = c.request.requestBody as ReadingInput | { readings: ReadingInput[] };
    const batch = 'readings' in body;
    const inputs = batch ? body.readings : [body];
    const { readings, problems } = checkReadings(
      inputs,
      batch ? (i, name) => `readings[${i}].${name}` : (_i, name) => name,
      deps.now(),
      deps.window,
    );
    const requestId = String(req.headers['x-request-id'] ?? '');
    if (problems.length > 0) {
      deps.metrics.readingsRejected.inc({ reason: 'rule' });
      sendProblem(
        res,
        problemOf('TELEMETRY_ERR_VALIDATION', describeFields(problems), {
          errors: problems,
          instance: req.originalUrl,
          requestId,
        }),
      );
      return;
    }
    if (req.headers[DRY_RUN_HEADER] === '1') {
      res.setHeader('X-Strangler-Dry-Run', '1');
      res.status(202).json({ accepted: readings.length, dryRun: true });
      return;
    }
    const started = process.hrtime.bigint();
    await deps.commandLog.append(readings, { requestId });
    deps.metrics.ingestDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    deps.metrics.readingsAccepted.inc({ source: 'api' }, readings.length);
    res.status(202).json({ accepted: readings.length, dryRun: false });
  };
}
