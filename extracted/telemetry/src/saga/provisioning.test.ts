import { decideProvisioning, provisioningProblems, type IngestProvisioning } from './provisioning';

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

describe('provisioning at ingest', () => {
  const devices = new Map<string, IngestProvisioning>([
    ['heater-1', { status: 'provisioned', metrics: ['temperature', 'target_temperature'], retentionDays: 7 }],
    ['gone-1', { status: 'deprovisioned', metrics: ['temperature'], retentionDays: 7 }],
  ]);
  const fieldOf = (i: number, name: string) => `readings[${i}].${name}`;
  const now = new Date('2026-12-03T12:00:00Z');
  const at = new Date('2026-12-03T11:59:00Z');

  it('accepts provisioned metrics of provisioned devices and every reading of devices it has no row for', () => {
    const readings = [
      { deviceId: 'heater-1', metric: 'temperature', measuredAt: at },
      { deviceId: 'heater-1', metric: 'target_temperature', measuredAt: at },
      { deviceId: 'legacy-sensor-1', metric: 'temperature', measuredAt: at },
      { deviceId: 'bench-7', metric: 'power.heater', measuredAt: at },
    ];
    expect(provisioningProblems(readings, devices, fieldOf, now)).toEqual([]);
  });

  it('refuses every reading of a deprovisioned device and other metrics of a provisioned one, naming each', () => {
    const readings = [
      { deviceId: 'gone-1', metric: 'temperature', measuredAt: at },
      { deviceId: 'heater-1', metric: 'temperature', measuredAt: at },
      { deviceId: 'heater-1', metric: 'humidity', measuredAt: at },
    ];
    expect(provisioningProblems(readings, devices, fieldOf, now)).toEqual([
      {
        in: 'body',
        field: 'readings[0].deviceId',
        message: 'device gone-1 is deprovisioned (its connection was undone): its readings are refused',
      },
      {
        in: 'body',
        field: 'readings[2].metric',
        message: 'humidity is not a metric device heater-1 is provisioned with (temperature, target_temperature)',
      },
    ]);
  });

  it("refuses a provisioned device's reading measured before its retention (the sweep removes those)", () => {
    const old = (days: number) => new Date(now.getTime() - days * 86_400_000);
    const readings = [
      { deviceId: 'heater-1', metric: 'temperature', measuredAt: old(6.9) },
      { deviceId: 'heater-1', metric: 'temperature', measuredAt: old(7.1) },
      { deviceId: 'legacy-sensor-1', metric: 'temperature', measuredAt: old(20) },
    ];
    expect(provisioningProblems(readings, devices, fieldOf, now)).toEqual([
      { in: 'body', field: 'readings[1].measuredAt', message: "is older than device heater-1's retention of 7 day(s)" },
    ]);
  });
});
