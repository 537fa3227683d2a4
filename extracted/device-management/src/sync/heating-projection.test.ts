import {
  projectHeatingChange,
  type HeatingChange,
  type InFlightWriteBack,
  type StoredHeating,
} from './heating-projection';

const row = (is_on: boolean, target_temperature: number, current_temperature = 18) => ({
  id: 7,
  is_on,
  target_temperature,
  current_temperature,
});
const change = (over: Partial<HeatingChange>): HeatingChange => ({
  op: 'u',
  after: row(true, 22),
  lsn: 1000n,
  txId: 900,
  ...over,
});
const stored = (over: Partial<StoredHeating> = {}): StoredHeating => ({
  settings: { on: false, targetTemperature: 20 },
  currentTemperature: 17,
  position: 500n,
  deleted: false,
  ...over,
});
const inFlight = (fields: InFlightWriteBack['fields'], monolithTxid: bigint | null = null): InFlightWriteBack => ({
  eventId: `wb-${fields.join('-')}-${monolithTxid}`,
  fields,
  monolithTxid,
});

describe('projectHeatingChange: positions', () => {
  it('creates a device for a heating system seen for the first time (snapshot read or insert)', () => {
    expect(projectHeatingChange(change({ op: 'r', lsn: 77n }), undefined, [])).toEqual({
      kind: 'create',
      position: 0n, // snapshot reads rank below every streamed change
      settings: { on: true, targetTemperature: 22 },
      currentTemperature: 18,
    });
    expect(projectHeatingChange(change({ op: 'c' }), undefined, [])).toMatchObject({ kind: 'create', position: 1000n });
  });

  it.each([
    ['the same position (redelivery)', 500n],
    ['an older position (replay after a restart)', 499n],
  ])('ignores an event at %s', (_what, lsn) => {
    expect(projectHeatingChange(change({ lsn }), stored(), [])).toEqual({ kind: 'stale', position: lsn });
  });

  it('a snapshot read does not overwrite a streamed change, but refreshes an earlier snapshot read', () => {
    expect(projectHeatingChange(change({ op: 'r' }), stored(), []).kind).toBe('stale');
    expect(projectHeatingChange(change({ op: 'r' }), stored({ position: 0n }), []).kind).toBe('update');
  });

  it('deletes, and ignores deletes of rows it never saw or already deleted', () => {
    expect(projectHeatingChange(change({ op: 'd', after: null }), stored(), [])).toEqual({
      kind: 'delete',
      position: 1000n,
    });
    expect(projectHeatingChange(change({ op: 'd', after: null }), undefined, []).kind).toBe('ignore');
    expect(projectHeatingChange(change({ op: 'd', after: null }), stored({ deleted: true }), []).kind).toBe('ignore');
  });

  it('restores a deleted device when the monolith has the row again', () => {
    expect(projectHeatingChange(change({ op: 'c' }), stored({ deleted: true }), [])).toMatchObject({
      kind: 'update',
      restore: true,
      settings: { on: true, targetTemperature: 22 },
    });
  });
});

describe('projectHeatingChange: ownership and loop prevention', () => {
  it('applies a monolith change of settings and always takes the hardware reading', () => {
    expect(projectHeatingChange(change({ after: row(true, 22, 18.5) }), stored(), [])).toEqual({
      kind: 'update',
      position: 1000n,
      settings: { on: true, targetTemperature: 22 },
      currentTemperature: 18.5,
      changed: ['on', 'targetTemperature'],
      restore: false,
      echoes: [],
      heldBack: [],
    });
  });

  it('a reading alone changes no setting', () => {
    expect(projectHeatingChange(change({ after: row(false, 20, 19) }), stored(), [])).toMatchObject({
      kind: 'update',
      changed: [],
      currentTemperature: 19,
    });
  });

  it('keeps a local value while its write-back is in flight, and applies the other setting', () => {
    const decision = projectHeatingChange(
      change({ after: row(true, 22) }),
      stored({ settings: { on: true, targetTemperature: 25 } }),
      [inFlight(['targetTemperature'])],
    );
    expect(decision).toMatchObject({
      kind: 'update',
      settings: { on: true, targetTemperature: 25 },
      changed: [],
      heldBack: ['targetTemperature'],
    });
    const other = projectHeatingChange(
      change({ after: row(false, 22) }),
      stored({ settings: { on: true, targetTemperature: 25 } }),
      [inFlight(['targetTemperature'])],
    );
    expect(other).toMatchObject({ settings: { on: false, targetTemperature: 25 }, changed: ['on'] });
  });

  it('recognises the echo of its own write-back by the monolith transaction id (low 32 bits) and changes nothing', () => {
    const local = stored({ settings: { on: true, targetTemperature: 20 } });
    const echo = change({ after: row(true, 20), txId: 900 });
    const decision = projectHeatingChange(echo, local, [inFlight(['on'], 900n)]);
    expect(decision).toMatchObject({ kind: 'update', echoes: ['wb-on-900'], changed: [], heldBack: [] });
    // a 64-bit txid_current() recorded with its epoch bits dropped still matches Debezium's 32-bit xid
    expect(projectHeatingChange(change({ txId: 5 }), local, [inFlight(['on'], 5n)])).toMatchObject({
      echoes: ['wb-on-5'],
    });
  });

  it('an echo of an older write-back does not undo a newer local change still in flight', () => {
    const local = stored({ settings: { on: true, targetTemperature: 23 } });
    const echoOf22 = change({ after: row(true, 22), txId: 901 });
    const decision = projectHeatingChange(echoOf22, local, [
      inFlight(['targetTemperature'], 901n),
      inFlight(['targetTemperature']),
    ]);
    expect(decision).toMatchObject({
      settings: { targetTemperature: 23 },
      echoes: ['wb-targetTemperature-901'],
      changed: [],
    });
  });

  it('a change that is not an echo is not mistaken for one', () => {
    expect(projectHeatingChange(change({ txId: 902 }), stored(), [inFlight(['on'], 901n)])).toMatchObject({
      echoes: [],
    });
    expect(projectHeatingChange(change({ txId: null }), stored(), [inFlight(['on'], 901n)])).toMatchObject({
      echoes: [],
    });
  });
});
