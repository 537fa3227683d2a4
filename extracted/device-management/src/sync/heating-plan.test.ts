import { formatLsn } from '@warmhouse/cdc';
import type { Device } from '../domain/device';
import { foldHeatingBatch, planRow, type BatchChange, type PlanContext } from './heating-plan';
import type { InFlightWriteBack } from './heating-projection';

const NOW = new Date('2026-12-05T12:00:00Z');
const change = (legacyId: bigint, lsn: bigint, target: number, over: Partial<BatchChange> = {}): BatchChange => ({
  legacyId,
  op: 'u',
  after: { id: Number(legacyId), is_on: true, target_temperature: target, current_temperature: 18 },
  lsn,
  txId: Number(lsn),
  ...over,
});
const device = (over: Partial<Device> = {}): Device => ({
  id: 'dev-1',
  seq: '1',
  type: 'heating',
  name: 'Heating system 7',
  houseId: 'house-1',
  ownerId: 'owner-1',
  status: 'active',
  settings: { on: true, targetTemperature: 20 },
  currentTemperature: 17,
  origin: 'monolith',
  legacyId: 7n,
  version: 3,
  cdcPosition: formatLsn(500n),
  cdcSyncedAt: NOW,
  createdAt: NOW,
  updatedAt: NOW,
  deletedAt: null,
  failureReason: null,
  ...over,
});
const ctx = (over: Partial<PlanContext> = {}): PlanContext => ({
  stored: device(),
  inFlight: [],
  newId: () => 'new-id',
  now: NOW,
  ...over,
});

describe('foldHeatingBatch', () => {
  it('groups changes per heating system in their order, ids ascending', () => {
    const batch = [change(9n, 1000n, 21), change(7n, 1001n, 22), change(9n, 1002n, 23), change(7n, 1003n, 24)];
    const folded = foldHeatingBatch(batch);
    expect(folded.legacyIds).toEqual([7n, 9n]);
    expect(folded.changes.get(9n)?.map((c) => c.lsn)).toEqual([1000n, 1002n]);
    expect(folded.changes.get(7n)?.map((c) => c.lsn)).toEqual([1001n, 1003n]);
  });
  it('an empty batch has no rows', () => {
    expect(foldHeatingBatch([])).toEqual({ legacyIds: [], changes: new Map() });
  });
});

describe('planRow', () => {
  const cases: Array<{
    name: string;
    changes: BatchChange[];
    context?: Partial<PlanContext>;
    expected: {
      write: null | { insert: boolean; target: number | null; version: number; status: string; deletedAt: string };
      events: string[];
      results: string[];
      position?: bigint;
    };
  }> = [
    {
      name: 'last change wins; one settings-changed event per change, versions growing',
      changes: [change(7n, 1000n, 21), change(7n, 1001n, 22), change(7n, 1002n, 23)],
      expected: {
        write: { insert: false, target: 23, version: 6, status: 'active', deletedAt: 'keep' },
        events: ['settings-changed@4', 'settings-changed@5', 'settings-changed@6'],
        results: ['updated', 'updated', 'updated'],
        position: 1002n,
      },
    },
    {
      name: 'redeliveries at or below the stored position are stale: nothing written',
      changes: [change(7n, 400n, 21), change(7n, 500n, 22)],
      expected: { write: null, events: [], results: ['stale', 'stale'] },
    },
    {
      name: 'a change repeated in the batch (at-least-once) applies once',
      changes: [change(7n, 1000n, 21), change(7n, 1000n, 21)],
      expected: {
        write: { insert: false, target: 21, version: 4, status: 'active', deletedAt: 'keep' },
        events: ['settings-changed@4'],
        results: ['updated', 'stale'],
      },
    },
    {
      name: 'a reading alone moves the position without a version or an event',
      changes: [change(7n, 1000n, 20)],
      expected: {
        write: { insert: false, target: 20, version: 3, status: 'active', deletedAt: 'keep' },
        events: [],
        results: ['unchanged'],
        position: 1000n,
      },
    },
    {
      name: 'a new heating system is created, then changed',
      changes: [change(7n, 0n, 21, { op: 'r' }), change(7n, 1000n, 22)],
      context: { stored: undefined },
      expected: {
        write: { insert: true, target: 22, version: 2, status: 'active', deletedAt: 'keep' },
        events: ['registered@1', 'settings-changed@2'],
        results: ['created', 'updated'],
      },
    },
    {
      name: 'deleted, then the row is back: restored',
      changes: [change(7n, 1000n, 0, { op: 'd', after: null }), change(7n, 1001n, 25, { op: 'c' })],
      expected: {
        write: { insert: false, target: 25, version: 5, status: 'active', deletedAt: 'clear' },
        events: ['deleted@4', 'registered@5'],
        results: ['deleted', 'updated'],
      },
    },
    {
      name: 'changed, then deleted: the last change wins',
      changes: [change(7n, 1000n, 21), change(7n, 1001n, 0, { op: 'd', after: null })],
      expected: {
        write: { insert: false, target: 21, version: 5, status: 'deleted', deletedAt: 'set' },
        events: ['settings-changed@4', 'deleted@5'],
        results: ['updated', 'deleted'],
      },
    },
    {
      name: 'a delete of a heating system never seen is ignored',
      changes: [change(7n, 1000n, 0, { op: 'd', after: null })],
      context: { stored: undefined },
      expected: { write: null, events: [], results: ['ignored'] },
    },
  ];
  it.each(cases)('$name', ({ changes, context, expected }) => {
    const plan = planRow(7n, changes, ctx(context));
    expect(plan.results.map((r) => r.result)).toEqual(expected.results);
    expect(plan.events.map((e) => `${e.type}@${e.device.version}`)).toEqual(expected.events);
    if (expected.write === null) return expect(plan.write).toBeUndefined();
    const w = plan.write!;
    expect({
      insert: w.insert,
      target: w.device.settings.targetTemperature,
      version: w.device.version,
      status: w.device.status,
      deletedAt: w.deletedAt,
    }).toEqual(expected.write);
    if (expected.position !== undefined) expect(w.device.cdcPosition).toBe(formatLsn(expected.position));
  });

  it('keeps ownership fields of the stored device', () => {
    const plan = planRow(7n, [change(7n, 1000n, 21)], ctx());
    expect(plan.write?.device).toMatchObject({
      id: 'dev-1',
      houseId: 'house-1',
      ownerId: 'owner-1',
      name: 'Heating system 7',
    });
  });

  describe('write-backs in flight', () => {
    const wb = (eventId: string, monolithTxid: bigint | null): InFlightWriteBack => ({
      eventId,
      fields: ['targetTemperature'],
      monolithTxid,
    });

    it('holds a setting back while its write-back is in flight, and lets it through after the echo', () => {
      const stored = device({ settings: { on: true, targetTemperature: 30 } });
      const plan = planRow(
        7n,
        [
          change(7n, 1000n, 21), // an older monolith value: held back
          change(7n, 1001n, 30, { txId: 4242 }), // the echo of the write-back
          change(7n, 1002n, 24), // a monolith change after the echo: applied
        ],
        ctx({ stored, inFlight: [wb('wb-1', 4242n)] }),
      );
      expect(plan.results.map((r) => r.result)).toEqual(['unchanged', 'echo', 'updated']);
      expect(plan.heldBack).toEqual([['targetTemperature']]);
      expect(plan.echoes).toEqual([{ eventIds: ['wb-1'], position: formatLsn(1001n) }]);
      expect(plan.events.map((e) => e.type)).toEqual(['settings-changed']);
      expect(plan.write?.device.settings.targetTemperature).toBe(24);
    });

    it('an echo alone is never a new change (no event)', () => {
      const stored = device({ settings: { on: true, targetTemperature: 30 } });
      const plan = planRow(7n, [change(7n, 1001n, 30, { txId: 4242 })], ctx({ stored, inFlight: [wb('wb-1', 4242n)] }));
      expect(plan.events).toEqual([]);
      expect(plan.results.map((r) => r.result)).toEqual(['echo']);
    });

    it('another write-back of the same setting still in flight keeps holding it after one echo', () => {
      const stored = device({ settings: { on: true, targetTemperature: 31 } });
      const plan = planRow(
        7n,
        [change(7n, 1001n, 30, { txId: 4242 }), change(7n, 1002n, 24)],
        ctx({ stored, inFlight: [wb('wb-1', 4242n), wb('wb-2', null)] }),
      );
      expect(plan.write?.device.settings.targetTemperature).toBe(31);
      expect(plan.events).toEqual([]);
    });
  });
});
