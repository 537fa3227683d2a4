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
