/**
 * The device model of the new ecosystem and its pure rules. Heating systems that came from the monolith are
 * devices of type `heating` with a `legacyId`; users register new devices of any supported type.
 */

export const DEVICE_TYPES = ['heating', 'temperature_sensor'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

/** `pending` while the connect saga runs, `failed` when it gave up (see failureReason). */
export const DEVICE_STATUSES = ['pending', 'active', 'inactive', 'failed', 'deleted'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

export type DeviceOrigin = 'monolith' | 'device-management';

/** Settings a user (or the monolith) changes; the monolith's `is_on` and `target_temperature`. */
export type SettingField = 'on' | 'targetTemperature';
export const SETTING_FIELDS: readonly SettingField[] = ['on', 'targetTemperature'];

/**
 * Target temperatures the new API accepts, °C. 5 °C is the usual frost-protection floor of room thermostats,
 * 35 °C the usual ceiling. The legacy routes keep the monolith's behaviour and accept any double (NaN included).
 */
export const TARGET_TEMPERATURE_RANGE = Object.freeze({ min: 5, max: 35 });

/** What each type supports. */
export const CAPABILITIES: Readonly<Record<DeviceType, { settings: readonly SettingField[]; measures: boolean }>> = {
  heating: { settings: SETTING_FIELDS, measures: true },
  temperature_sensor: { settings: [], measures: true },
};

/** Defaults for a newly registered device of each type. */
export const DEFAULT_SETTINGS: Readonly<Record<DeviceType, Settings>> = {
  heating: { on: false, targetTemperature: 20 },
  temperature_sensor: { on: null, targetTemperature: null },
};

export interface Settings {
  on: boolean | null;
  targetTemperature: number | null;
}

export interface Device {
  id: string;
  /** stable order of registration, used for pagination */
  seq: string;
  type: DeviceType;
  name: string;
  houseId: string | null;
  ownerId: string | null;
  status: DeviceStatus;
  settings: Settings;
  currentTemperature: number | null;
  origin: DeviceOrigin;
  /** heating_systems.id in the monolith */
  legacyId: bigint | null;
  version: number;
  /** pg_lsn text of the last applied change event */
  cdcPosition: string | null;
  cdcSyncedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
  /** why connecting the device failed (status failed) */
  failureReason: string | null;
}

/** Equality as the monolith's "did anything change" check sees doubles (NaN equals NaN, 0.0 differs from -0.0). */
export const sameValue = (a: unknown, b: unknown): boolean => Object.is(a, b);

/** Applies a partial settings change; `changed` lists the fields whose value really changes (possibly none). */
export function applySettings(
  current: Settings,
  patch: Partial<Record<SettingField, boolean | number>>,
): { next: Settings; changed: SettingField[] } {
  const next: Settings = {
    on: patch.on === undefined ? current.on : (patch.on as boolean),
    targetTemperature:
      patch.targetTemperature === undefined ? current.targetTemperature : (patch.targetTemperature as number),
  };
  const changed = SETTING_FIELDS.filter((f) => !sameValue(next[f], current[f]));
  return { next, changed };
}

/** Fields of `patch` the device's type does not have. */
export function unsupportedSettings(type: DeviceType, patch: Partial<Record<SettingField, unknown>>): SettingField[] {
  const supported = CAPABILITIES[type].settings;
  return SETTING_FIELDS.filter((f) => patch[f] !== undefined && !supported.includes(f));
}

/** Commands of the new API, each a settings change. */
export type DeviceCommand =
  { type: 'turn-on' } | { type: 'turn-off' } | { type: 'set-target-temperature'; targetTemperature: number };

export function commandSettings(command: DeviceCommand): Partial<Record<SettingField, boolean | number>> {
  switch (command.type) {
    case 'turn-on':
      return { on: true };
    case 'turn-off':
      return { on: false };
    case 'set-target-temperature':
      return { targetTemperature: command.targetTemperature };
  }
}
