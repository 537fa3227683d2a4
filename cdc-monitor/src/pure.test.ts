import { computeLag } from './lag';
import { problemsOf } from './monitor';
import { judgeFreshness, lastChangeOf, type LastChange } from './freshness';
import { judgeSlots, type SlotRow } from './slots';

const row = (over: Partial<SlotRow> = {}): SlotRow => ({
  slot_name: 'warmhouse_monolith',
  active: true,
  wal_status: 'reserved',
  restart_lsn: '0/16B3748',
  confirmed_flush_lsn: '0/16B3780',
  retained_wal_bytes: '1000',
  flush_lag_bytes: '944',
  ...over,
});

describe('judgeSlots', () => {
  const t = { walRetainedAlarmBytes: 5000 };
  it.each<[string, SlotRow[], string[]]>([
    ['healthy', [row()], []],
    ['missing', [], ['slot missing']],
    ['inactive', [row({ active: false })], ['slot inactive (no connector streaming from it)']],
    ['lost', [row({ wal_status: 'lost' })], ['wal_status lost: recreate the slot and re-snapshot']],
    ['over threshold', [row({ retained_wal_bytes: '5001' })], ['retained WAL 5001 bytes over 5000']],
  ])('%s', (_name, rows, alarms) => {
    expect(judgeSlots(['warmhouse_monolith'], rows, t)[0]?.alarms).toEqual(alarms);
  });

  it('reports positions and byte counts as numbers', () => {
    expect(judgeSlots(['warmhouse_monolith'], [row()], t)[0]).toMatchObject({
      present: true,
      active: true,
      walStatus: 'reserved',
      confirmedFlushLsn: '0/16B3780',
      retainedWalBytes: 1000,
      flushLagBytes: 944,
    });
  });
});

describe('computeLag', () => {
  const ends = new Map([
    [
      't',
      [
        { partition: 0, high: '10', low: '0' },
        { partition: 1, high: '7', low: '3' },
      ],
    ],
  ]);
  it('is end − committed, and end − low when nothing is committed', () => {
    const rows = computeLag(
      'g',
      [
        {
          topic: 't',
          partitions: [
            { partition: 1, offset: '-1' },
            { partition: 0, offset: '4' },
          ],
        },
      ],
      ends,
    );
    expect(rows).toEqual([
      { group: 'g', topic: 't', partition: 0, committed: 4, end: 10, lag: 6 },
      { group: 'g', topic: 't', partition: 1, committed: -1, end: 7, lag: 4 },
    ]);
  });
  it('skips partitions without watermarks and never goes negative', () => {
    const rows = computeLag(
      'g',
      [
        {
          topic: 't',
          partitions: [
            { partition: 0, offset: '12' },
            { partition: 9, offset: '1' },
          ],
        },
      ],
      ends,
    );
    expect(rows).toEqual([{ group: 'g', topic: 't', partition: 0, committed: 12, end: 10, lag: 0 }]);
  });
});

describe('freshness', () => {
  const value = (ts: number) =>
    Buffer.from(
      JSON.stringify({ op: 'u', after: {}, source: { ts_ms: ts, schema: 'public', table: 'heating_systems' } }),
    );

  it('reads the source commit time of a change event and ignores tombstones and junk', () => {
    expect(lastChangeOf('x', value(1000))).toEqual({
      topic: 'x',
      table: 'public.heating_systems',
      sourceTsMs: 1000,
      op: 'u',
    });
    expect(lastChangeOf('x', null)).toBeUndefined();
    expect(lastChangeOf('x', Buffer.from('not json'))).toBeUndefined();
    expect(lastChangeOf('x', Buffer.from('{"op":"u"}'))).toBeUndefined();
  });

  it('is now − commit time, flagged over the threshold, unknown while nothing was seen', () => {
    const last = new Map<string, LastChange>([['a', { topic: 'a', table: 'public.a', sourceTsMs: 10_000, op: 'c' }]]);
    expect(judgeFreshness(['a', 'b'], last, 75_000, 60)).toEqual([
      {
        topic: 'a',
        table: 'public.a',
        lastSourceCommitAt: new Date(10_000).toISOString(),
        freshnessSeconds: 65,
        overThreshold: true,
      },
      { topic: 'b', table: null, lastSourceCommitAt: null, freshnessSeconds: null, overThreshold: false },
    ]);
  });

  it('raises the alarm only for the alarm topics', () => {
    const last = new Map<string, LastChange>([['a', { topic: 'a', table: 'public.a', sourceTsMs: 10_000, op: 'c' }]]);
    expect(judgeFreshness(['a'], last, 75_000, 60, ['hb'])[0]).toMatchObject({
      freshnessSeconds: 65,
      overThreshold: false,
    });
  });
});

describe('problemsOf', () => {
  const healthy = {
    connectors: [{ name: 'c', reachable: true, state: 'RUNNING' as const, tasks: [], healthy: true }],
    slots: { ok: true as const, value: [] },
    lag: { ok: true as const, value: [] },
    heartbeat: { ok: true as const, value: { lastBeatAt: null, ageSeconds: 1, overThreshold: false } },
    freshness: [],
    probes: null,
    drift: null,
  };
  it('is empty for a healthy picture and names each reason otherwise', () => {
    expect(problemsOf(healthy)).toEqual([]);
    expect(
      problemsOf({
        ...healthy,
        lag: { ok: false, error: 'broker down' },
        probes: {
          topic: 't',
          rowId: 2,
          intervalSeconds: 10,
          lastProbeAt: null,
          writeError: null,
          services: [
            {
              service: 'telemetry',
              url: 'http://x',
              reachable: true,
              error: null,
              lastLatencyMs: null,
              lastObservedMs: null,
              lastAppliedProbeAt: null,
              pending: 9,
              oldestPendingSeconds: 90.4,
              overThreshold: true,
              position: null,
            },
          ],
        },
      }),
    ).toEqual(['lag check failed: broker down', 'telemetry has not applied a probe for 90 s']);
  });
});
