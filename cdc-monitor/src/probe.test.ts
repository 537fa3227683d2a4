import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pool } from 'pg';
import { createLogger } from '@warmhouse/shared';
import { closedPort } from '../../cdc/src/connectors/fake-connect';
import { createMetrics } from './metrics';
import { createHeartbeatProbe, fetchApplied, parseServices, PROBE_SQL, reachedBy, type AppliedPosition } from './probe';
import { quietCdcSnapshot } from './testing/cdc-snapshot';

const TOPIC = 'monolith.public.cdc_heartbeat';
const logger = createLogger('probe-test', 'silent');

/** A consuming service's `GET /cdc/applied`, answering whatever position the test sets. */
async function startFakeService(name: string) {
  const state: { status: number; topics: Record<string, AppliedPosition>; asked: number } = {
    status: 200,
    topics: {},
    asked: 0,
  };
  const server: Server = createServer((req, res) => {
    state.asked += 1;
    if (req.url !== '/cdc/applied' || state.status !== 200) {
      res.writeHead(req.url === '/cdc/applied' ? state.status : 404, { 'content-type': 'application/json' });
      return res.end('{"error":"no"}');
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ service: name, topics: state.topics }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    state,
    /** the service applied a change with this source commit time at `appliedAtMs` */
    apply: (sourceTsMs: number, appliedAtMs: number) => {
      state.topics = {
        'monolith.public.heating_systems': { lsn: '100', sourceTsMs: 1, appliedAtMs: 2, partition: 0, offset: '4' },
        [TOPIC]: { lsn: String(sourceTsMs), sourceTsMs, appliedAtMs, partition: 0, offset: String(sourceTsMs) },
      };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The monolith database as the probe sees it: every probe starts at the next `dbClock` value. */
const fakePool = (dbClock: number[], seen: unknown[][] = []) =>
  ({
    query: (sql: string, params: unknown[]) => {
      expect(sql).toBe(PROBE_SQL);
      seen.push(params);
      const ts = dbClock.shift();
      return ts === undefined
        ? Promise.reject(new Error('connection refused'))
        : Promise.resolve({ rows: [{ ts_ms: ts }] });
    },
  }) as unknown as Pool;

describe('parseServices', () => {
  it('reads name=url pairs and trims a trailing slash', () => {
    expect(parseServices(' device-management=http://127.0.0.1:17081/ ,telemetry=https://t.example:8443')).toEqual({
      services: [
        { name: 'device-management', url: 'http://127.0.0.1:17081' },
        { name: 'telemetry', url: 'https://t.example:8443' },
      ],
      problems: [],
    });
    expect(parseServices('').services).toEqual([]);
    expect(parseServices('http://x').problems).toHaveLength(1);
  });
});

describe('reachedBy', () => {
  const probes = [
    { seq: 1, sourceTsMs: 1000, writtenAtMs: 1 },
    { seq: 2, sourceTsMs: 2000, writtenAtMs: 2 },
  ];
  it('counts a probe applied once the service applied a change committed at or after it', () => {
    expect(reachedBy(probes, undefined)).toEqual([]);
    expect(reachedBy(probes, { sourceTsMs: 999 })).toEqual([]);
    expect(reachedBy(probes, { sourceTsMs: 1000 }).map((p) => p.seq)).toEqual([1]);
    expect(reachedBy(probes, { sourceTsMs: 5000 }).map((p) => p.seq)).toEqual([1, 2]);
  });
});

describe('fetchApplied', () => {
  it('reads a service position and refuses an answer of another shape', async () => {
    const svc = await startFakeService('device-management');
    try {
      svc.apply(1234, 1300);
      expect((await fetchApplied(svc.url))[TOPIC]).toMatchObject({
        sourceTsMs: 1234,
        appliedAtMs: 1300,
        offset: '1234',
      });
      svc.state.topics = { [TOPIC]: { sourceTsMs: 'yesterday' } as never };
      await expect(fetchApplied(svc.url)).rejects.toThrow(/unexpected answer/);
      svc.state.status = 404;
      await expect(fetchApplied(svc.url)).rejects.toThrow('GET /cdc/applied answered 404');
    } finally {
      await svc.close();
    }
  });
});

describe('heartbeat probe per service', () => {
  let clock = 0;
  const now = () => clock;
  let dm: Awaited<ReturnType<typeof startFakeService>>;
  let tel: Awaited<ReturnType<typeof startFakeService>>;
  beforeEach(async () => {
    clock = 50_000;
    dm = await startFakeService('device-management');
    tel = await startFakeService('telemetry');
  });
  afterEach(async () => {
    await dm.close();
    await tel.close();
  });

  it('times each service from the probe to its applied position, and counts what is pending', async () => {
    const params: unknown[][] = [];
    const probe = createHeartbeatProbe({
      pool: fakePool([10_000, 20_000], params),
      services: [
        { name: 'device-management', url: dm.url },
        { name: 'telemetry', url: tel.url },
      ],
      logger,
      now,
      alarmSeconds: 60,
    });
    // before: both services have applied an older heartbeat (Debezium's own)
    dm.apply(9_000, 9_010);
    tel.apply(9_000, 9_020);
    expect(await probe.probe()).toMatchObject({ seq: 1, sourceTsMs: 10_000, writtenAtMs: 50_000 });
    expect(params).toEqual([[2]]);
    let report = probe.report();
    expect(report.services.map((s) => [s.service, s.reachable, s.pending, s.lastLatencyMs])).toEqual([
      ['device-management', true, 1, null],
      ['telemetry', true, 1, null],
    ]);

    // device management applies the probe (committed at 10 000 ms, database clock) at 10 180 ms, its clock
    clock = 50_400;
    dm.apply(10_000, 10_180);
    await probe.poll();
    report = probe.report();
    expect(report.services[0]).toMatchObject({
      service: 'device-management',
      pending: 0,
      oldestPendingSeconds: null,
      lastLatencyMs: 180,
      lastObservedMs: 400,
      lastAppliedProbeAt: new Date(50_000).toISOString(),
      overThreshold: false,
      position: { sourceTsMs: 10_000 },
    });
    expect(report.services[1]).toMatchObject({ service: 'telemetry', pending: 1, oldestPendingSeconds: 0.4 });

    // a second probe; telemetry is stuck for over the alarm threshold, then catches up with both at once
    clock = 60_000;
    await probe.probe();
    clock = 121_000;
    await probe.poll();
    expect(probe.report().services[1]).toMatchObject({ pending: 2, oldestPendingSeconds: 71, overThreshold: true });
    dm.apply(20_001, 20_050);
    tel.apply(20_003, 20_500);
    await probe.poll();
    report = probe.report();
    expect(report.services.map((s) => [s.pending, s.lastLatencyMs, s.overThreshold])).toEqual([
      [0, 50, false],
      [0, 500, false],
    ]);

    // the same report as Prometheus metrics
    const metrics = createMetrics();
    metrics.update(quietCdcSnapshot({ at: '', probes: report }));
    const text = await metrics.registry.metrics();
    expect(text).toContain('cdc_probe_latency_seconds{service="telemetry"} 0.5');
    expect(text).toContain('cdc_probe_pending{service="telemetry"} 0');
    expect(text).toContain('cdc_probe_oldest_pending_seconds{service="device-management"} 0');
    expect(text).toContain('cdc_probe_service_reachable{service="device-management"} 1');
    expect(text).toContain('cdc_probe_last_write_timestamp_seconds 60');
    expect(text).toContain('cdc_monitor_check_ok{check="probe"} 1');
  });

  it('reports a service that does not answer, or answers without the heartbeat topic', async () => {
    const probe = createHeartbeatProbe({
      pool: fakePool([10_000]),
      services: [
        { name: 'device-management', url: dm.url },
        { name: 'telemetry', url: `http://127.0.0.1:${await closedPort()}` },
      ],
      logger,
      now,
    });
    expect(probe.report().services.map((s) => s.reachable)).toEqual([null, null]);
    dm.state.status = 404;
    await probe.probe();
    let report = probe.report();
    expect(report.services.map((s) => [s.reachable, s.overThreshold, s.pending])).toEqual([
      [false, true, 1],
      [false, true, 1],
    ]);
    expect(report.services[0]?.error).toBe('GET /cdc/applied answered 404');
    expect(report.services[1]?.error).toMatch(/fetch failed/);

    dm.state.status = 200;
    dm.state.topics = {};
    await probe.poll();
    report = probe.report();
    expect(report.services[0]).toMatchObject({
      reachable: true,
      overThreshold: false,
      pending: 1,
      error: `no applied position on ${TOPIC} yet`,
    });
  });

  it('says when the probe cannot be written', async () => {
    const probe = createHeartbeatProbe({ pool: fakePool([]), services: [{ name: 'a', url: dm.url }], logger, now });
    expect(await probe.probe()).toBeUndefined();
    const report = probe.report();
    expect(report).toMatchObject({ writeError: 'connection refused', lastProbeAt: null });
    expect(report.services[0]?.pending).toBe(0);
    expect(dm.state.asked).toBe(0);
  });

  it('probes on its own schedule and stops', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const params: unknown[][] = [];
      const probe = createHeartbeatProbe({
        pool: fakePool([1, 2, 3, 4], params),
        services: [{ name: 'a', url: dm.url }],
        logger,
        rowId: 7,
        intervalMs: 10_000,
      });
      probe.start();
      expect(params).toEqual([[7]]);
      jest.advanceTimersByTime(20_000);
      expect(params).toEqual([[7], [7], [7]]);
      await probe.stop();
      jest.advanceTimersByTime(20_000);
      expect(params).toHaveLength(3);
    } finally {
      jest.useRealTimers();
    }
  });
});
