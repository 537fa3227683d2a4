import { applyIfNewer, isNewer, positionOf, SNAPSHOT_POSITION } from './position';

describe('positionOf', () => {
  it('is the change LSN for streamed changes and SNAPSHOT_POSITION for snapshot reads', () => {
    expect(positionOf({ op: 'u', lsn: 500n })).toBe(500n);
    expect(positionOf({ op: 'd', lsn: 501n })).toBe(501n);
    expect(positionOf({ op: 'r', lsn: 900n })).toBe(SNAPSHOT_POSITION);
  });
});

describe('isNewer', () => {
  it.each<[bigint, bigint | null | undefined, boolean, string]>([
    [100n, undefined, true, 'nothing stored'],
    [100n, null, true, 'nothing stored'],
    [101n, 100n, true, 'later change'],
    [100n, 100n, false, 'the same change redelivered'],
    [99n, 100n, false, 'an older change redelivered'],
    [SNAPSHOT_POSITION, 100n, false, 'a snapshot read never overrides a streamed change'],
    [5n, SNAPSHOT_POSITION, true, 'a streamed change written before the snapshot point but committed after it'],
    [SNAPSHOT_POSITION, SNAPSHOT_POSITION, true, 'a later snapshot read refreshes an earlier one'],
  ])('isNewer(%s, %s) is %s: %s', (event, stored, expected) => {
    expect(isNewer(event, stored)).toBe(expected);
  });

  it('compares beyond 2^53 exactly', () => {
    expect(isNewer(9007199254740993n, 9007199254740992n)).toBe(true);
  });
});

describe('applyIfNewer', () => {
  function memoryStore() {
    const rows = new Map<number, { value: string; position: bigint }>();
    type E = { op: 'c' | 'u' | 'd' | 'r' | 't'; lsn: bigint; id: number; value: string };
    return {
      rows,
      store: {
        storedPosition: async (e: E) => rows.get(e.id)?.position,
        apply: async (e: E, position: bigint) => {
          rows.set(e.id, { value: e.value, position });
        },
      },
    };
  }

  it('applies a replayed stream once and ends at the newest state', async () => {
    const { rows, store } = memoryStore();
    const stream = [
      { op: 'r' as const, lsn: 1000n, id: 1, value: 'snapshot' },
      { op: 'u' as const, lsn: 990n, id: 1, value: 'straddler' },
      { op: 'u' as const, lsn: 1010n, id: 1, value: 'second' },
    ];
    const first = [];
    for (const e of stream) first.push(await applyIfNewer(e, store));
    const replay = [];
    for (const e of stream) replay.push(await applyIfNewer(e, store));
    expect(first).toEqual([true, true, true]);
    expect(replay).toEqual([false, false, false]);
    expect(rows.get(1)).toEqual({ value: 'second', position: 1010n });
  });
});
