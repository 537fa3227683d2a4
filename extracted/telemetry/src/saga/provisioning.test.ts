import { decideProvisioning } from './provisioning';

describe('provisioning rules', () => {
  const limits = { maxRetentionDays: 365 };

  it.each([
    ['heating', 30, { ok: true, metrics: ['temperature', 'target_temperature'], retentionDays: 30 }],
    ['temperature_sensor', 365, { ok: true, metrics: ['temperature'], retentionDays: 365 }],
  ])('provisions a %s device with its metrics and retention', (deviceType, retentionDays, expected) => {
    expect(decideProvisioning({ deviceType, retentionDays }, limits)).toEqual(expected);
  });

  it.each([
    ['a retention beyond the limit', 'heating', 366, 'retention of 366 days exceeds the 365 days telemetry keeps'],
    ['an unknown device type', 'toaster', 30, 'telemetry has no metrics for device type toaster'],
  ])('refuses %s, saying why', (_what, deviceType, retentionDays, reason) => {
    expect(decideProvisioning({ deviceType, retentionDays }, limits)).toEqual({ ok: false, reason });
  });
});
