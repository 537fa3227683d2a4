import type { FieldProblem } from '../errors';

/**
 * Telemetry's rules for provisioning a device (pure). A provisioned device gets the metrics its type reports and a
 * retention; telemetry refuses a retention beyond what it keeps, and device types it has no metrics for.
 */
export const METRICS_BY_DEVICE_TYPE: Readonly<Record<string, readonly string[]>> = Object.freeze({
  heating: ['temperature', 'target_temperature'],
  temperature_sensor: ['temperature'],
});

export type ProvisioningDecision =
  { ok: true; metrics: string[]; retentionDays: number } | { ok: false; reason: string };

export function decideProvisioning(
  request: { deviceType: string; retentionDays: number },
  limits: { maxRetentionDays: number },
): ProvisioningDecision {
  const metrics = METRICS_BY_DEVICE_TYPE[request.deviceType];
  if (!metrics) return { ok: false, reason: `telemetry has no metrics for device type ${request.deviceType}` };
  if (request.retentionDays > limits.maxRetentionDays) {
    return {
      ok: false,
      reason: `retention of ${request.retentionDays} days exceeds the ${limits.maxRetentionDays} days telemetry keeps`,
    };
  }
  return { ok: true, metrics: [...metrics], retentionDays: request.retentionDays };
}

/** What ingest needs to know of a device the saga provisioned (devices without a row are not checked). */
export interface IngestProvisioning {
  status: 'provisioned' | 'deprovisioned';
  metrics: readonly string[];
  retentionDays: number;
}

const DAY_MS = 86_400_000;

/**
 * The readings telemetry refuses because of provisioning, one field problem each: every reading of a
 * deprovisioned device (a compensated connect), and readings of a provisioned device whose metric is not among
 * its provisioned metrics, or measured before its retention (the sweep has deleted such readings or soon will: stored
 * again, one would be counted twice in the rollups). Devices absent from `devices` (legacy devices of the CDC feed,
 * devices not connected through the saga) are accepted as before.
 */
export function provisioningProblems(
  readings: readonly { deviceId: string; metric: string; measuredAt: Date }[],
  devices: ReadonlyMap<string, IngestProvisioning>,
  fieldOf: (index: number, name: 'deviceId' | 'metric' | 'measuredAt') => string,
  now: Date,
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  readings.forEach((r, i) => {
    const device = devices.get(r.deviceId);
    if (!device) return;
    if (device.status === 'deprovisioned') {
      problems.push({
        in: 'body',
        field: fieldOf(i, 'deviceId'),
        message: `device ${r.deviceId} is deprovisioned (its connection was undone): its readings are refused`,
      });
    } else if (!device.metrics.includes(r.metric)) {
      problems.push({
        in: 'body',
        field: fieldOf(i, 'metric'),
        message: `${r.metric} is not a metric device ${r.deviceId} is provisioned with (${device.metrics.join(', ')})`,
      });
    } else if (r.measuredAt.getTime() < now.getTime() - device.retentionDays * DAY_MS) {
      problems.push({
        in: 'body',
        field: fieldOf(i, 'measuredAt'),
        message: `is older than device ${r.deviceId}'s retention of ${device.retentionDays} day(s)`,
      });
    }
  });
  return problems;
}
