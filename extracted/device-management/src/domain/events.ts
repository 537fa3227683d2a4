import { createEnvelope, envelopeShape } from '@warmhouse/messaging';
import { z } from 'zod';
import { deviceError } from '../errors';
import {
  DEVICE_STATUSES,
  DEVICE_TYPES,
  SETTING_FIELDS,
  type Device,
  type DeviceStatus,
  type SettingField,
  type Settings,
} from './device';

/**
 * Domain events of device management, published on DEVICE_EVENTS_TOPIC (keyed by device id) through the
 * transactional outbox. This zod schema is the source of truth; `schemas/device-events.v1.schema.json` is
 * generated from it (`npm run -w @warmhouse/device-management schema`, checked by a unit test) for the AsyncAPI
 * document and for consumers in other languages.
 *
 * Versioning follows @warmhouse/messaging: `schemaVersion` is bumped only for incompatible changes (a removed or
 * retyped field); adding an optional field or a new event type keeps version 1, so consumers must ignore unknown
 * fields and types.
 */
export const DEVICE_EVENTS_SCHEMA_VERSION = 1;
export const DEVICE_EVENTS_SOURCE = 'device-management';

/** Java doubles the legacy routes accept but JSON cannot carry are written as these strings. */
const temperature = z
  .union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])])
  .nullable()
  .describe('°C; the legacy routes accept any Java double, so NaN and ±Infinity arrive as strings');

const settingsSchema = z
  .object({ on: z.boolean().nullable(), targetTemperature: temperature })
  .describe('null where the device type has no such setting');

const settingField = z.enum(SETTING_FIELDS as [SettingField, ...SettingField[]]);

/** Events of this topic carry the common envelope (@warmhouse/messaging) plus the device they are about. */
const envelope = {
  ...envelopeShape,
  schemaVersion: z.literal(DEVICE_EVENTS_SCHEMA_VERSION),
  occurredAt: z.iso.datetime({ offset: true }).describe('when the change was committed by device management'),
  requestId: z.string().nullable().describe('X-Request-Id of the HTTP request that caused the change'),
  // added within v1 (additive): events written before it have no source
  source: z.literal(DEVICE_EVENTS_SOURCE).optional().describe('the producing service (envelope)'),
  origin: z
    .enum(['device-management', 'monolith'])
    .describe(
      'who made the change: device-management (its API or legacy routes) or monolith (seen through CDC). Only device-management changes are written back to the monolith',
    ),
  deviceId: z.uuid(),
  deviceVersion: z.int().positive().describe('the device row version after the change; grows per device'),
  legacyId: z
    .string()
    .regex(/^\d+$/)
    .nullable()
    .describe('heating_systems.id in the monolith (a Java long, as a string), null for devices registered here'),
};

export const deviceSnapshotSchema = z.object({
  type: z.enum(DEVICE_TYPES),
  name: z.string(),
  houseId: z.string().nullable(),
  ownerId: z.string().nullable(),
  status: z.enum(DEVICE_STATUSES),
  settings: settingsSchema,
});

export const deviceRegisteredSchema = z.object({
  ...envelope,
  type: z.literal('device.registered'),
  data: z.object({ device: deviceSnapshotSchema }),
});

export const deviceSettingsChangedSchema = z.object({
  ...envelope,
  type: z.literal('device.settings-changed'),
  data: z.object({
    changed: z.array(settingField).min(1).describe('the settings this change set; only these are written back'),
    settings: settingsSchema.describe('all settings after the change'),
    previous: settingsSchema.describe('all settings before the change'),
  }),
});

export const deviceDeletedSchema = z.object({
  ...envelope,
  type: z.literal('device.deleted'),
  data: z.object({ device: deviceSnapshotSchema.describe('the device as it was when deleted') }),
});

const deviceStatus = z.enum(DEVICE_STATUSES);
const previousStatus = deviceStatus.describe('the status before the change');

export const deviceStatusChangedSchema = z.object({
  ...envelope,
  type: z.literal('device.status-changed'),
  data: z
    .discriminatedUnion('status', [
      z.object({
        status: z.literal('failed').describe('the status after the change'),
        previous: previousStatus,
        failureReason: z.string().min(1).describe('why the device failed'),
      }),
      z.object({
        status: deviceStatus.exclude(['failed']).describe('the status after the change'),
        previous: previousStatus,
        failureReason: z.null(),
      }),
    ])
    .describe('e.g. pending → active or failed when the connect saga ends; a failure reason exactly when failed'),
});

export const deviceEventSchema = z
  .discriminatedUnion('type', [
    deviceRegisteredSchema,
    deviceSettingsChangedSchema,
    deviceDeletedSchema,
    deviceStatusChangedSchema,
  ])
  .meta({ title: 'Device management domain event', $id: 'urn:warmhouse:device-events:v1' });

export type DeviceEvent = z.output<typeof deviceEventSchema>;
export type DeviceEventType = DeviceEvent['type'];
export const DEVICE_EVENT_TYPES: readonly DeviceEventType[] = [
  'device.registered',
  'device.settings-changed',
  'device.deleted',
  'device.status-changed',
];

/** The JSON schema of the events (draft-07, the dialect AsyncAPI schemas extend), generated from the zod schema. */
export function deviceEventsJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(deviceEventSchema, { target: 'draft-7' }) as Record<string, unknown>;
}

export function temperatureJson(value: number | null): number | 'NaN' | 'Infinity' | '-Infinity' | null {
  if (value === null || Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? 'Infinity' : '-Infinity';
}

export function temperatureFromJson(value: number | string | null): number | null {
  if (value === null || typeof value === 'number') return value;
  return value === 'NaN' ? NaN : value === 'Infinity' ? Infinity : -Infinity;
}

const settingsJson = (s: Settings) => ({ on: s.on, targetTemperature: temperatureJson(s.targetTemperature) });

const snapshot = (d: Device) => ({
  type: d.type,
  name: d.name,
  houseId: d.houseId,
  ownerId: d.ownerId,
  status: d.status,
  settings: settingsJson(d.settings),
});

export interface EventContext {
  origin: 'device-management' | 'monolith';
  requestId?: string | null;
  now?: Date;
  eventId?: string;
}

function envelopeOf(device: Device, ctx: EventContext) {
  return {
    ...createEnvelope({
      type: 'device.event',
      schemaVersion: DEVICE_EVENTS_SCHEMA_VERSION,
      source: DEVICE_EVENTS_SOURCE,
      requestId: ctx.requestId,
      eventId: ctx.eventId,
      now: ctx.now,
    }),
    origin: ctx.origin,
    deviceId: device.id,
    deviceVersion: device.version,
    legacyId: device.legacyId === null ? null : device.legacyId.toString(),
  } as const;
}

/** Validates before anything is stored: an event that does not match its schema is a bug and never leaves. */
function checked(event: unknown): DeviceEvent {
  const result = deviceEventSchema.safeParse(event);
  if (!result.success) {
    throw deviceError('DEVICE_ERR_EVENT_INVALID', `domain event does not match its schema: ${result.error.message}`);
  }
  return result.data;
}

/** `device.registered` for `device` (after it is stored). */
export function deviceRegistered(device: Device, ctx: EventContext): DeviceEvent {
  return checked({ ...envelopeOf(device, ctx), type: 'device.registered', data: { device: snapshot(device) } });
}

/** `device.settings-changed`; `device` is the device after the change. */
export function deviceSettingsChanged(
  device: Device,
  previous: Settings,
  changed: readonly SettingField[],
  ctx: EventContext,
): DeviceEvent {
  return checked({
    ...envelopeOf(device, ctx),
    type: 'device.settings-changed',
    data: { changed: [...changed], settings: settingsJson(device.settings), previous: settingsJson(previous) },
  });
}

/** `device.deleted`; `device` is the device after the (soft) delete. */
export function deviceDeleted(device: Device, ctx: EventContext): DeviceEvent {
  return checked({ ...envelopeOf(device, ctx), type: 'device.deleted', data: { device: snapshot(device) } });
}

/** `device.status-changed`; `device` is the device after the change (its status and failure reason). */
export function deviceStatusChanged(device: Device, previous: DeviceStatus, ctx: EventContext): DeviceEvent {
  return checked({
    ...envelopeOf(device, ctx),
    type: 'device.status-changed',
    data: { status: device.status, previous, failureReason: device.failureReason },
  });
}

/**
 * Reads an event from the topic; throws DEVICE_ERR_EVENT_UNREADABLE (dead-letter it) when it does not match, and
 * DEVICE_ERR_EVENT_UNKNOWN_TYPE for a version-1 event of a type added after this code (skip it: additive changes
 * within a version, see the versioning rule in @warmhouse/messaging).
 */
export function parseDeviceEvent(raw: Buffer | string | null): DeviceEvent {
  let json: unknown;
  try {
    json = JSON.parse(raw === null ? 'null' : raw.toString());
  } catch (err) {
    throw deviceError('DEVICE_ERR_EVENT_UNREADABLE', `not JSON: ${(err as Error).message}`, { cause: err });
  }
  const head = json as { type?: unknown; schemaVersion?: unknown } | null;
  if (
    typeof head?.type === 'string' &&
    head.schemaVersion === 1 &&
    !(DEVICE_EVENT_TYPES as readonly string[]).includes(head.type)
  ) {
    throw deviceError('DEVICE_ERR_EVENT_UNKNOWN_TYPE', `device event type ${head.type} is not known here`);
  }
  const result = deviceEventSchema.safeParse(json);
  if (!result.success) {
    throw deviceError('DEVICE_ERR_EVENT_UNREADABLE', `not a device event v1: ${result.error.message}`);
  }
  return result.data;
}
