import type { MonolithChange } from './legacy';
import { legacyDeviceId, legacyEffect } from './legacy';

const source = { ts_ms: 1767225600000 } as MonolithChange['source'];
const heating = (op: MonolithChange['op'], before: number | null, after: number | null, target = 20): MonolithChange =>
  ({
    op,
    table: 'public.heating_systems',
    key: { id: 7 },
    before: before === null ? null : { id: 7, is_on: true, target_temperature: 20, current_temperature: before },
    after: after === null ? null : { id: 7, is_on: true, target_temperature: target, current_temperature: after },
    lsn: 1234n,
    txId: 1,
    sourceTsMs: 1767225600000,
    connectorTsMs: 1767225600100,
    snapshot: op === 'r',
    topic: 't',
    partition: 0,
    offset: '1',
    source,
  }) as MonolithChange;

const sensor = (before: [number, string] | null, after: [number, string]): MonolithChange =>
  ({
    op: before ? 'u' : 'c',
    table: 'public.temperature_sensors',
    key: { id: 3 },
    before: before ? { id: 3, current_temperature: before[0], last_updated: new Date(before[1]) } : null,
    after: { id: 3, current_temperature: after[0], last_updated: new Date(after[1]) },
    lsn: 99n,
    txId: 1,
    sourceTsMs: 1767225600000,
    connectorTsMs: 1767225600100,
    snapshot: false,
    topic: 't',
    partition: 0,
    offset: '1',
    source,
  }) as MonolithChange;

describe('legacyEffect', () => {
  it('turns a snapshot read and a create of a heating system into a reading at the commit time', () => {
    for (const op of ['r', 'c'] as const) {
      const effect = legacyEffect(heating(op, null, 21), 0n, 'house');
      expect(effect.readings).toEqual([
        {
          deviceId: 'legacy-heating-7',
          metric: 'temperature',
          value: 21,
          unit: 'Cel',
          measuredAt: new Date(1767225600000),
          idempotencyKey: 'lsn-1234',
          houseId: 'house',
          source: 'cdc',
        },
      ]);
      expect(effect.device).toEqual({ kind: 'heating', legacyId: 7, deleted: false });
    }
  });

  it('makes a reading of a heating update only when current_temperature changed', () => {
    expect(legacyEffect(heating('u', 21, 21.5), 1234n, 'h').readings).toHaveLength(1);
    expect(legacyEffect(heating('u', 21, 21, 23), 1234n, 'h').readings).toEqual([]);
    expect(legacyEffect(heating('u', 21, 21, 23), 1234n, 'h').device).toEqual({
      kind: 'heating',
      legacyId: 7,
      deleted: false,
    });
  });

  it('marks a deleted heating system, with no reading', () => {
    expect(legacyEffect(heating('d', 21, null), 1234n, 'h')).toEqual({
      readings: [],
      device: { kind: 'heating', legacyId: 7, deleted: true },
      position: 1234n,
    });
  });

  it('measures sensors at last_updated, also when only the time changed', () => {
    const moved = legacyEffect(sensor([20, '2026-01-01T00:00:00Z'], [20, '2026-01-01T00:00:05Z']), 99n, 'h');
    expect(moved.readings.map((r) => [r.deviceId, r.value, r.measuredAt.toISOString()])).toEqual([
      ['legacy-sensor-3', 20, '2026-01-01T00:00:05.000Z'],
    ]);
    expect(legacyEffect(sensor([20, '2026-01-01T00:00:00Z'], [20, '2026-01-01T00:00:00Z']), 99n, 'h').readings).toEqual(
      [],
    );
  });

  it('names legacy devices by kind and id', () => {
    expect(legacyDeviceId('heating', 1n)).toBe('legacy-heating-1');
    expect(legacyDeviceId('sensor', 12)).toBe('legacy-sensor-12');
  });
});
