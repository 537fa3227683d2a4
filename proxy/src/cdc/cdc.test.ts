import { compileTable, type CompiledTable, type TableIssue } from '../table/compile';
import { cdcUpstreams, entityKey } from './cdc-reads';
import { decideRead, lagMs, pinApplied, tableProgress, type PinPosition } from './freshness';
import { PinStore } from './pins';
import type { AppliedReport } from '@warmhouse/messaging';
import { parseLsn } from './wal';

const upstreams = [
  { name: 'monolith', url: 'http://127.0.0.1:8080' },
  { name: 'device-management', url: 'http://127.0.0.1:8091' },
];
const HEATING = 'public.heating_systems';
const naming = { topicPrefix: 'monolith', heartbeatTable: 'public.cdc_heartbeat' };

function compile(routes: unknown[]): CompiledTable {
  const r = compileTable({ upstreams, routes }, { env: {}, version: 1 });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.table;
}
function issuesOf(routes: unknown[]): TableIssue[] {
  const r = compileTable({ upstreams, routes }, { env: {}, version: 1 });
  if (r.ok) throw new Error('expected the table to be rejected');
  return r.issues;
}

describe('route cdc settings', () => {
  it('are optional, get defaults and resolve source and key', () => {
    const t = compile([
      {
        id: 'get',
        methods: ['GET'],
        path: '/api/heating/:id',
        target: 'device-management',
        cdc: { tables: [HEATING], key: { param: 'id' }, readYourWrites: {} },
      },
      { id: 'put', methods: ['PUT'], path: '/api/heating/:id', target: 'monolith' },
    ]);
    const get = t.routes.find((r) => r.id === 'get')!;
    expect(get.spec.cdc).toEqual({
      tables: [HEATING],
      key: { param: 'id' },
      maxLagMs: 5000,
      readYourWrites: { pinSeconds: 15 },
    });
    expect(get.cdc).toMatchObject({ tables: [HEATING], paramIndex: 2, maxLagMs: 5000, pinMs: 15_000 });
    expect(get.cdc?.source.name).toBe('monolith');
    expect(t.routes.find((r) => r.id === 'put')!.cdc).toBeUndefined();
    expect(cdcUpstreams(t).map((u) => u.name)).toEqual(['device-management']);
  });

  it('take the canary key when they name none', () => {
    const t = compile([
      {
        id: 'get',
        path: '/h/:hid',
        target: 'device-management',
        mode: 'canary',
        weight: 10,
        canary: { key: { header: 'X-House' } },
        cdc: { tables: [HEATING] },
      },
    ]);
    expect(t.routes[0]!.cdc).toMatchObject({ header: 'x-house', paramIndex: undefined, pinMs: undefined });
    expect(cdcUpstreams(t).map((u) => u.name)).toEqual(['device-management']); // the baseline is the source
  });

  it.each([
    [{ tables: [] }, 'cdc.tables'],
    [{ tables: ['heating_systems'] }, 'cdc.tables[0]'],
    [{ tables: [HEATING, HEATING] }, 'cdc.tables[1]'],
    [{ tables: [HEATING], source: 'nowhere' }, 'cdc.source'],
    [{ tables: [HEATING], key: { param: 'nope' } }, 'cdc.key.param'],
    [{ tables: [HEATING], maxLagMs: -1 }, 'cdc.maxLagMs'],
    [{ tables: [HEATING], readYourWrites: { pinSeconds: 0 } }, 'cdc.readYourWrites.pinSeconds'],
    [{ tables: [HEATING], unknown: 1 }, 'cdc'],
  ])('rejects %j naming %s', (cdc, field) => {
    const issues = issuesOf([{ id: 'r', path: '/api/heating/:id', target: 'device-management', cdc }]);
    expect(issues.map((i) => i.path)).toContain(`routes[0].${field}`);
  });
});

const report = (topics: AppliedReport['topics']): AppliedReport => ({ service: 'device-management', topics });
const at = (lsn: bigint, sourceTsMs: number) => ({
  lsn: lsn.toString(),
  sourceTsMs,
  appliedAtMs: sourceTsMs + 5,
  partition: 0,
  offset: '1',
});

describe('lag and pins (pure)', () => {
  const heating = 'monolith.public.heating_systems';
  const hb = 'monolith.public.cdc_heartbeat';

  it('a table is applied up to the later of its own last change and the heartbeat watermark', () => {
    const p = tableProgress(report({ [heating]: at(100n, 1_000), [hb]: at(300n, 1_900) }), [HEATING], naming);
    expect(p).toEqual([{ lsn: 300n, sourceTsMs: 1_900 }]);
    expect(lagMs(p, 2_000)).toBe(100);
    expect(lagMs(tableProgress(report({}), [HEATING], naming), 2_000)).toBeUndefined();
  });

  it('a pin holds while pending, and until every table reached its LSN or commit time', () => {
    const progress = [{ lsn: 500n, sourceTsMs: 2_000 }];
    const pin = (p: Partial<PinPosition>): PinPosition => ({ pending: 0, createdAt: 0, ...p });
    expect(pinApplied(pin({ pending: 1, lsn: 1n }), progress)).toBe(false);
    expect(pinApplied(pin({}), progress)).toBe(false);
    expect(pinApplied(pin({ lsn: 500n }), progress)).toBe(true);
    expect(pinApplied(pin({ lsn: 501n }), progress)).toBe(false);
    expect(pinApplied(pin({ afterTsMs: 2_000 }), progress)).toBe(true);
    expect(pinApplied(pin({ afterTsMs: 2_001 }), progress)).toBe(false);
  });

  const base = {
    staleAfterMs: 3_000,
    tables: [HEATING],
    naming,
    maxLagMs: 5_000,
    pins: [] as PinPosition[],
    pinMs: 15_000,
    now: 10_000,
  };
  const fresh = report({ [hb]: at(1_000n, 9_500) });

  it('serves from the service when fresh and nothing is pinned', () => {
    expect(decideRead({ ...base, report: fresh, reportAt: 9_900 })).toEqual({ serve: 'service', lagMs: 500 });
  });

  it('serves from the source when the report is missing, stale, or says nothing of the table', () => {
    expect(decideRead({ ...base, report: undefined, reportAt: undefined })).toEqual({
      serve: 'source',
      reason: 'unknown',
    });
    expect(decideRead({ ...base, report: fresh, reportAt: 6_999 }).serve).toBe('source');
    expect(decideRead({ ...base, report: report({}), reportAt: 9_900 })).toMatchObject({ reason: 'unknown' });
  });

  it('serves from the source when the lag is above maxLagMs', () => {
    const behind = report({ [hb]: at(1_000n, 4_000) });
    expect(decideRead({ ...base, report: behind, reportAt: 9_900 })).toEqual({
      serve: 'source',
      reason: 'lag',
      lagMs: 6_000,
    });
    expect(decideRead({ ...base, maxLagMs: 6_000, report: behind, reportAt: 9_900 }).serve).toBe('service');
  });

  it('serves a pinned key from the source until applied, within pinMs, and only with readYourWrites', () => {
    const pins = [{ pending: 0, lsn: 1_001n, createdAt: 9_000 }];
    expect(decideRead({ ...base, pins, report: fresh, reportAt: 9_900 })).toMatchObject({ reason: 'pinned' });
    expect(decideRead({ ...base, pins, pinMs: undefined, report: fresh, reportAt: 9_900 }).serve).toBe('service');
    expect(decideRead({ ...base, pins, pinMs: 999, report: fresh, reportAt: 9_900 }).serve).toBe('service');
    const applied = report({ [hb]: at(1_001n, 9_500) });
    expect(decideRead({ ...base, pins, report: applied, reportAt: 9_900 }).serve).toBe('service');
  });
});

describe('PinStore', () => {
  it('pins on begin (pending), resolves to a position, cancels a lone failed write', () => {
    let now = 0;
    const store = new PinStore(10, 15_000, () => now);
    const a = store.begin([HEATING], '7');
    expect(store.find([HEATING], '7')).toEqual([{ pending: 1, createdAt: 0 }]);
    const b = store.begin([HEATING], '7');
    now = 10;
    store.resolve(a, { lsn: 42n });
    store.cancel(b);
    expect(store.find([HEATING], '7')).toEqual([{ pending: 0, lsn: 42n, createdAt: 0 }]);
    const c = store.begin([HEATING], '8');
    store.cancel(c);
    expect(store.find([HEATING], '8')).toEqual([]);
    expect(store.stats()).toMatchObject({ size: 1, pinned: 3, resolvedLsn: 1, cancelled: 2 });
  });

  it('drops the settled pins of a key written through the service, keeps one whose source write is in flight', () => {
    const store = new PinStore(10, 15_000);
    store.resolve(store.begin([HEATING, 'public.temperature_sensors'], '1'), { lsn: 5n });
    store.begin([HEATING], '2'); // pending: the source has not answered yet
    expect(store.release([HEATING, 'public.temperature_sensors'], '1')).toBe(2);
    expect(store.release([HEATING], '2')).toBe(0);
    expect(store.release([HEATING], '3')).toBe(0); // nothing pinned
    expect(store.find([HEATING], '1')).toEqual([]);
    expect(store.find([HEATING], '2')).toHaveLength(1);
    expect(store.stats()).toMatchObject({ size: 1, released: 1 });
  });

  it('is bounded: the least recently written key is dropped and counted', () => {
    const store = new PinStore(2, 15_000);
    for (const k of ['1', '2', '3']) store.resolve(store.begin([HEATING], k), { afterTsMs: 5 });
    expect(store.find([HEATING], '1')).toEqual([]);
    expect(store.find([HEATING], '3')).toHaveLength(1);
    expect(store.stats()).toMatchObject({ size: 2, evicted: 1 });
  });

  it('forgets a pin after its time to live', () => {
    let now = 1_000;
    const store = new PinStore(10, 15_000, () => now);
    store.resolve(store.begin([HEATING], '1'), { lsn: 1n });
    now += 15_001;
    expect(store.find([HEATING], '1')).toEqual([]);
  });
});

describe('entityKey and parseLsn', () => {
  it('reads the key like the canary key: header, else path parameter, else client address', () => {
    expect(entityKey({ header: 'x-house', paramIndex: 2 }, '/api/heating/7', { 'x-house': 'h1' }, '::1')).toBe('h1');
    expect(entityKey({ header: 'x-house', paramIndex: 2 }, '/api/heating/7/turn-on', {}, '::1')).toBe('7');
    expect(entityKey({ header: undefined, paramIndex: undefined }, '/x', {}, '10.0.0.1')).toBe('10.0.0.1');
  });

  it('parses PostgreSQL text LSNs exactly', () => {
    expect(parseLsn('0/16B3748')).toBe(0x16b3748n);
    expect(parseLsn('FFFFFFFF/FFFFFFFF')).toBe(0xffff_ffff_ffff_ffffn);
    expect(() => parseLsn('nope')).toThrow(RangeError);
  });
});
