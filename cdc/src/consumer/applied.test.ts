import { AppliedPositions, cdcAppliedHandler, mergeApplied, type AppliedPosition } from './applied';

const HB = 'monolith.public.cdc_heartbeat';
const HEATING = 'monolith.public.heating_systems';

function tracker() {
  let now = 1_000;
  const t = new AppliedPositions(HB, () => now);
  return { t, tick: (ms: number) => (now += ms) };
}

describe('AppliedPositions', () => {
  it('keeps the last applied change per topic, LSN and offset as decimal strings', () => {
    const { t } = tracker();
    t.record(HEATING, 0, '41', { lsn: 23456789n, sourceTsMs: 900 });
    t.record(HEATING, 0, '42'); // a tombstone: offset done, position unchanged
    expect(t.snapshot()).toEqual({
      [HEATING]: { lsn: '23456789', sourceTsMs: 900, appliedAtMs: 1_000, partition: 0, offset: '41' },
    });
  });

  it('publishes a heartbeat only once the business topics are applied up to their end offsets read after it', () => {
    const { t, tick } = tracker();
    t.record(HEATING, 0, '9', { lsn: 100n, sourceTsMs: 900 });
    t.record(HB, 0, '3', { lsn: 200n, sourceTsMs: 950 });
    expect(t.snapshot()[HB]).toBeUndefined(); // consumed, not yet known to be a watermark
    const candidate = t.pendingHeartbeat()!;
    expect(candidate.lsn).toBe('200');
    // heating has messages up to offset 11 (end 12): the heartbeat must wait for them
    t.offer(candidate, [{ topic: HEATING, partition: 0, end: 12n }]);
    expect(t.snapshot()[HB]).toBeUndefined();
    expect(t.pendingHeartbeat()).toBeUndefined(); // one candidate at a time
    t.record(HEATING, 0, '10', { lsn: 150n, sourceTsMs: 940 });
    expect(t.snapshot()[HB]).toBeUndefined();
    tick(5);
    t.record(HEATING, 0, '11', { lsn: 160n, sourceTsMs: 945 });
    expect(t.snapshot()[HB]).toEqual({ lsn: '200', sourceTsMs: 950, appliedAtMs: 1_005, partition: 0, offset: '3' });
  });

  it("counts the group's committed offset (a restart that resumes at the end applies nothing)", () => {
    const { t } = tracker();
    t.record(HB, 0, '0', { lsn: 300n, sourceTsMs: 1 });
    t.offer(t.pendingHeartbeat()!, [{ topic: HEATING, partition: 0, end: 50n, committed: 50n }]);
    expect(t.snapshot()[HB]?.lsn).toBe('300');
    expect(t.pendingHeartbeat()).toBeUndefined(); // nothing newer consumed
  });

  it('without a heartbeat topic reports business topics only', () => {
    const t = new AppliedPositions(undefined);
    t.record(HB, 0, '0', { lsn: 1n, sourceTsMs: 1 });
    expect(Object.keys(t.snapshot())).toEqual([HB]);
    expect(t.pendingHeartbeat()).toBeUndefined();
  });
});

describe('cdcAppliedHandler', () => {
  const at = (lsn: string): AppliedPosition => ({ lsn, sourceTsMs: 1, appliedAtMs: 2, partition: 0, offset: '5' });

  it('serves {service, topics} with no-store, merging sources (a topic twice keeps the lower position)', async () => {
    const headers: Record<string, string> = {};
    let body: unknown;
    const handler = cdcAppliedHandler('device-management', () => [
      { applied: () => ({ a: at('10'), b: at('7') }) },
      { applied: () => ({ a: at('9') }) },
    ]);
    await handler({}, { setHeader: (n, v) => (headers[n] = v), status: () => undefined, json: (b) => (body = b) });
    expect(body).toEqual({ service: 'device-management', topics: { a: at('9'), b: at('7') } });
    expect(headers['Cache-Control']).toBe('no-store');
    expect(mergeApplied([])).toEqual({});
  });

  it('answers 503 with CDC_ERR_APPLIED_UNAVAILABLE when a source cannot be read (never a partial report)', async () => {
    let status = 200;
    let body: unknown;
    const handler = cdcAppliedHandler('telemetry', [
      { applied: () => ({ a: at('1') }) },
      { applied: () => Promise.reject(new Error('connection refused')) },
    ]);
    await handler({}, { setHeader: () => undefined, status: (s) => (status = s), json: (b) => (body = b) });
    expect(status).toBe(503);
    expect(body).toMatchObject({ error: 'CDC_ERR_APPLIED_UNAVAILABLE' });
  });
});

describe('AppliedPositions with progress made by other replicas', () => {
  it('settles a waiting heartbeat once the partitions another replica owns are applied up to their ends', () => {
    const { t, tick } = tracker();
    t.record(HB, 0, '7', { lsn: 500n, sourceTsMs: 990 });
    // heating has two partitions; this process owns neither
    t.offer(t.pendingHeartbeat()!, [
      { topic: HEATING, partition: 0, end: 40n },
      { topic: HEATING, partition: 1, end: 12n },
    ]);
    expect(t.waiting()).toBe(true);
    t.progress([{ topic: HEATING, partition: 0, next: 40n }]);
    expect(t.watermark()).toBeUndefined();
    tick(3);
    t.progress([
      { topic: HEATING, partition: 0, next: 39n }, // an older reading never moves a partition back
      { topic: HEATING, partition: 1, next: 12n },
    ]);
    expect(t.waiting()).toBe(false);
    expect(t.watermark()).toEqual({ lsn: '500', sourceTsMs: 990, appliedAtMs: 1_003, partition: 0, offset: '7' });
  });
});
