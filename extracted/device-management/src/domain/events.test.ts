import { readFileSync } from 'node:fs';
import { EVENT_SCHEMA_PATH, eventSchemaText } from '../write-event-schema';
import { SAMPLE_DEVICE } from '../testing/sample-device';
import {
  deviceDeleted,
  deviceRegistered,
  deviceSettingsChanged,
  deviceStatusChanged,
  parseDeviceEvent,
  temperatureFromJson,
  temperatureJson,
} from './events';

const device = SAMPLE_DEVICE;
const ctx = { origin: 'device-management' as const, now: new Date('2026-01-02T03:04:05.678Z'), requestId: 'r-1' };

describe('domain events v1', () => {
  it('builds each event type and reads it back from its JSON', () => {
    for (const event of [
      deviceRegistered(device, ctx),
      deviceSettingsChanged(device, { on: false, targetTemperature: 21.5 }, ['on'], ctx),
      deviceDeleted({ ...device, status: 'deleted' }, { ...ctx, origin: 'monolith' }),
      deviceStatusChanged(device, 'pending', ctx),
      deviceStatusChanged(
        { ...device, status: 'failed', failureReason: 'no first reading within 60 s' },
        'pending',
        ctx,
      ),
    ]) {
      expect(parseDeviceEvent(Buffer.from(JSON.stringify(event)))).toEqual(event);
      expect(event).toMatchObject({ schemaVersion: 1, deviceId: device.id, deviceVersion: 3, legacyId: '42' });
    }
  });

  it('carries what a settings change changed, and the settings before and after', () => {
    const event = deviceSettingsChanged(device, { on: false, targetTemperature: 21.5 }, ['on'], ctx);
    expect(event).toMatchObject({
      type: 'device.settings-changed',
      origin: 'device-management',
      occurredAt: '2026-01-02T03:04:05.678Z',
      requestId: 'r-1',
      data: { changed: ['on'], settings: { on: true, targetTemperature: 21.5 }, previous: { on: false } },
    });
  });

  it('carries a status change: the status after and before, and the failure reason exactly when failed', () => {
    expect(deviceStatusChanged({ ...device, version: 4 }, 'pending', ctx)).toMatchObject({
      type: 'device.status-changed',
      origin: 'device-management',
      deviceId: device.id,
      deviceVersion: 4,
      occurredAt: '2026-01-02T03:04:05.678Z',
      requestId: 'r-1',
      data: { status: 'active', previous: 'pending', failureReason: null },
    });
    const failed = { ...device, status: 'failed' as const, failureReason: 'telemetry refused to provision: no' };
    expect(deviceStatusChanged(failed, 'pending', ctx).data).toEqual({
      status: 'failed',
      previous: 'pending',
      failureReason: 'telemetry refused to provision: no',
    });
  });

  it.each([
    ['failed without a reason', { status: 'failed' as const, failureReason: null }],
    ['failed with an empty reason', { status: 'failed' as const, failureReason: '' }],
    ['active with a failure reason', { status: 'active' as const, failureReason: 'left over' }],
  ])('refuses a status change %s', (_what, change) => {
    expect(() => deviceStatusChanged({ ...device, ...change }, 'pending', ctx)).toThrow(
      expect.objectContaining({ code: 'DEVICE_ERR_EVENT_INVALID' }),
    );
  });

  it('writes the doubles JSON cannot carry as strings (legacy routes accept NaN and Infinity)', () => {
    expect([NaN, Infinity, -Infinity, 21, null].map(temperatureJson)).toEqual([
      'NaN',
      'Infinity',
      '-Infinity',
      21,
      null,
    ]);
    expect(['NaN', 'Infinity', '-Infinity', 21, null].map(temperatureFromJson)).toEqual([
      NaN,
      Infinity,
      -Infinity,
      21,
      null,
    ]);
    const event = deviceSettingsChanged(device, device.settings, ['targetTemperature'], ctx);
    expect(() =>
      deviceSettingsChanged(
        { ...device, settings: { on: true, targetTemperature: NaN } },
        device.settings,
        ['targetTemperature'],
        ctx,
      ),
    ).not.toThrow();
    expect(event.type).toBe('device.settings-changed');
  });

  it('refuses to build an event that does not match the schema', () => {
    expect(() => deviceSettingsChanged(device, device.settings, [], ctx)).toThrow(
      expect.objectContaining({ code: 'DEVICE_ERR_EVENT_INVALID' }),
    );
  });

  it.each([
    ['not JSON', '{"type":'],
    ['another version', JSON.stringify({ ...deviceRegistered(device, ctx), schemaVersion: 2 })],
    [
      'an unknown type of another version',
      JSON.stringify({ ...deviceRegistered(device, ctx), type: 'x', schemaVersion: 2 }),
    ],
    ['a known type that does not match its schema', JSON.stringify({ ...deviceRegistered(device, ctx), data: 1 })],
  ])('rejects %s as unreadable', (_what, raw) => {
    expect(() => parseDeviceEvent(Buffer.from(raw))).toThrow(
      expect.objectContaining({ code: 'DEVICE_ERR_EVENT_UNREADABLE' }),
    );
  });

  it('tells a version-1 event of a type it does not know apart (consumers skip those)', () => {
    const raw = JSON.stringify({ ...deviceRegistered(device, ctx), type: 'device.firmware-updated' });
    expect(() => parseDeviceEvent(Buffer.from(raw))).toThrow(
      expect.objectContaining({ code: 'DEVICE_ERR_EVENT_UNKNOWN_TYPE' }),
    );
  });

  it('the checked-in JSON schema is the one generated from the zod schema (npm run schema)', () => {
    // compared as JSON: prettier may reformat the file
    expect(JSON.parse(readFileSync(EVENT_SCHEMA_PATH, 'utf8'))).toEqual(JSON.parse(eventSchemaText()));
  });
});
