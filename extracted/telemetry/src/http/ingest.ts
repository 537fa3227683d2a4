import type { Logger } from '@warmhouse/shared';
import type { Request, Response } from 'express';
import type { Context } from 'openapi-backend';
import { checkReadings, type ReadingInput, type TimeWindow } from '../domain/reading';
import type { CommandLog } from '../kafka/command-log';
import type { FieldProblem } from '../errors';
import type { TelemetryMetrics } from '../metrics';
import { provisioningProblems, type IngestProvisioning } from '../saga/provisioning';
import { problemOf } from '../errors';
import { describeFields, sendProblem } from '@warmhouse/shared';

export const DRY_RUN_HEADER = 'x-strangler-dry-run';

export interface IngestDeps {
  commandLog: Pick<CommandLog, 'append'>;
  metrics: TelemetryMetrics;
  logger: Logger;
  window: TimeWindow;
  now: () => Date;
  /** provisioning of those of the given device ids the connect-device saga provisioned (one query per request) */
  provisioning: (deviceIds: readonly string[]) => Promise<ReadonlyMap<string, IngestProvisioning>>;
}

/**
 * `POST /api/v1/telemetry` after the document's validation passed: the rules a schema cannot say (400), then
 * provisioning (422: devices the connect-device saga deprovisioned, metrics a provisioned device does not have,
 * readings older than the device's retention),
 * then the command log. A request is taken whole or not at all: one refused reading refuses the whole batch and
 * nothing is published. 202 only once Kafka acknowledged every reading with acks=all; a failure there is a 503 and
 * the whole request may be retried (partial appends are de-duplicated by the read side's duplicate rules).
 */
export function ingestHandler(deps: IngestDeps) {
  return async (c: Context, req: Request, res: Response): Promise<void> => {
    const body = c.request.requestBody as ReadingInput | { readings: ReadingInput[] };
    const batch = 'readings' in body;
    const inputs = batch ? body.readings : [body];
    const fieldOf = batch ? (i: number, name: string) => `readings[${i}].${name}` : (_i: number, name: string) => name;
    const { readings, problems } = checkReadings(inputs, fieldOf, deps.now(), deps.window);
    const requestId = String(req.headers['x-request-id'] ?? '');
    const refuse = (code: 'TELEMETRY_ERR_VALIDATION' | 'TELEMETRY_ERR_NOT_PROVISIONED', errors: FieldProblem[]) => {
      deps.metrics.readingsRejected.inc({ reason: code === 'TELEMETRY_ERR_VALIDATION' ? 'rule' : 'not_provisioned' });
      sendProblem(res, problemOf(code, describeFields(errors), { errors, instance: req.originalUrl, requestId }));
    };
    if (problems.length > 0) return refuse('TELEMETRY_ERR_VALIDATION', problems);
    const devices = await deps.provisioning([...new Set(readings.map((r) => r.deviceId))]);
    const refused = provisioningProblems(readings, devices, fieldOf, deps.now());
    if (refused.length > 0) return refuse('TELEMETRY_ERR_NOT_PROVISIONED', refused);
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
