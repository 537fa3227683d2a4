import { deviceRegistered } from '../domain/events';
import { SAMPLE_DEVICE } from '../testing/sample-device';
import type { SettingField } from '../domain/device';
import { fieldsToWrite, parseWriteBackMessage } from './write-back';

const device = SAMPLE_DEVICE;
const event = deviceRegistered(device, { origin: 'device-management', now: new Date(0), requestId: null });
const record = (value: string | null) => ({ topic: 'device-events', partition: 0, offset: '7', key: 'k', value });

describe('write-back parsing of the device events topic', () => {
  it('reads a device event, and a tombstone as one', () => {
    expect(parseWriteBackMessage(record(JSON.stringify(event)))).toEqual({ kind: 'message', event });
    expect(parseWriteBackMessage(record(null))).toEqual({ kind: 'tombstone' });
  });

  it('skips a version-1 event of a type added after this code, instead of dead-lettering it', () => {
    const newer = JSON.stringify({ ...event, type: 'device.firmware-updated' });
    expect(parseWriteBackMessage(record(newer))).toEqual({
      kind: 'skip',
      reason: 'device event type device.firmware-updated is not known here',
    });
  });

  it.each([
    ['not JSON', '{"type":'],
    ['another schema version', JSON.stringify({ ...event, schemaVersion: 2 })],
    ['a known type with a broken body', JSON.stringify({ ...event, deviceId: 7 })],
  ])('dead-letters %s (MESSAGE_ERR_MALFORMED)', (_what, raw) => {
    expect(() => parseWriteBackMessage(record(raw))).toThrow(
      expect.objectContaining({ code: 'MESSAGE_ERR_MALFORMED' }),
    );
  });
});

describe('write-back version guard (fieldsToWrite)', () => {
  const applied = (entries: Array<[SettingField, number]>) => new Map(entries);
  it.each<[string, SettingField[], number, Array<[SettingField, number]>, SettingField[]]>([
    ['nothing written back yet', ['on', 'targetTemperature'], 3, [], ['on', 'targetTemperature']],
    ['newer than what was written', ['targetTemperature'], 5, [['targetTemperature', 4]], ['targetTemperature']],
    ['the same version again (a retry)', ['targetTemperature'], 5, [['targetTemperature', 5]], ['targetTemperature']],
    ['older: refused', ['targetTemperature'], 4, [['targetTemperature', 5]], []],
    [
      'per field: the older field dropped, the other kept',
      ['on', 'targetTemperature'],
      4,
      [
        ['targetTemperature', 6],
        ['on', 2],
      ],
      ['on'],
    ],
  ])('%s', (_what, fields, deviceVersion, entries, expected) => {
    expect(fieldsToWrite({ fields, deviceVersion }, applied(entries))).toEqual(expected);
  });
});
