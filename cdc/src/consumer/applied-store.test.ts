import { createAppliedStore, reportOf, type AppliedRow } from './applied-store';

const row = (topic: string, partition: number, next: string, lsn: string): AppliedRow => ({
  topic,
  partition,
  next_offset: next,
  lsn,
  source_ts_ms: '1700000000000',
  applied_at_ms: '1700000000010',
});

describe('reportOf', () => {
  it('reports one position per topic, the offset of the last applied change (next offset − 1)', () => {
    expect(reportOf([row('hb', 0, '8', '900'), row('heating', 0, '42', '23456789012345678901')])).toEqual({
      hb: { lsn: '900', sourceTsMs: 1700000000000, appliedAtMs: 1700000000010, partition: 0, offset: '7' },
      heating: {
        lsn: '23456789012345678901', // unsigned 64-bit positions stay exact
        sourceTsMs: 1700000000000,
        appliedAtMs: 1700000000010,
        partition: 0,
        offset: '41',
      },
    });
  });

  it('a topic of several partitions reports its least advanced one (applied only that far)', () => {
    const report = reportOf([row('t', 0, '10', '500'), row('t', 1, '3', '120'), row('t', 2, '99', '700')]);
    expect(report['t']).toMatchObject({ lsn: '120', partition: 1, offset: '2' });
    expect(reportOf([])).toEqual({});
  });
});

describe('createAppliedStore', () => {
  it('refuses a table name that is not a plain (schema-qualified) identifier', () => {
    const pool = { query: () => Promise.resolve({ rows: [], rowCount: 0 }) };
    expect(() => createAppliedStore({ pool, table: 'x; DROP TABLE y' })).toThrow('invalid table name');
    expect(createAppliedStore({ pool, table: 'feed.cdc_applied' }).table).toBe('feed.cdc_applied');
  });

  it('never moves a partition backwards: the upsert only replaces a lower next offset', async () => {
    const seen: Array<{ text: string; values?: unknown[] }> = [];
    const pool = {
      query: (text: string, values?: unknown[]) => {
        seen.push({ text, values });
        return Promise.resolve({ rows: [], rowCount: 1 });
      },
    };
    const store = createAppliedStore({ pool, table: 'public.cdc_applied' });
    await store.record(pool, 'heating', { lsn: '5', sourceTsMs: 1, appliedAtMs: 2, partition: 3, offset: '41' });
    expect(seen[0]!.text).toContain('WHERE a.next_offset < EXCLUDED.next_offset');
    expect(seen[0]!.values).toEqual(['heating', 3, '42', '5', 1, 2]);
  });
});
