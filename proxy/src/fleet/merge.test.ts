import { Counter, Gauge, Registry } from 'prom-client';
import { emptyCounters, type ShadowCounters, type ShadowDiff } from '../shadow/shadower';
import type { Gathered, MissingWorker } from './link';
import {
  mergeBreakers,
  mergeCdc,
  mergeMetrics,
  mergeShadow,
  mergeShadowRoute,
  mergeWorkers,
  type BreakersView,
  type CdcView,
  type ShadowView,
} from './merge';

/** A gather of `values`, one per worker slot 0, 1, …; `expected` defaults to their number. */
function gathered<T>(values: T[], extra: { expected?: number; missing?: MissingWorker[] } = {}): Gathered<T> {
  return {
    expected: extra.expected ?? values.length,
    answers: values.map((value, slot) => ({ worker: { slot, pid: 1000 + slot }, value })),
    missing: extra.missing ?? [],
  };
}

const counters = (n: Partial<ShadowCounters>): ShadowCounters => ({ ...emptyCounters(), ...n });

const diff = (at: string, requestId: string): ShadowDiff => ({
  at,
  requestId,
  method: 'GET',
  url: '/x',
  differences: [],
  primary: { upstream: 'monolith', status: 200, body: '{}' },
  shadow: { upstream: 'svc', status: 200, body: '{"a":1}' },
});

describe('merging the workers’ views', () => {
  it('is the identity for a single process, with no `workers` note', () => {
    const shadow: ShadowView = {
      routes: { r: counters({ compared: 3, equal: 2, different: 1 }) },
      inFlight: 1,
      circuits: { svc: { state: 'closed', transitions: { closed: 0, open: 0, 'half-open': 0 } } },
    };
    expect(mergeShadow(gathered([shadow]))).toEqual(shadow);
    const route = {
      route: 'r',
      mode: 'shadow',
      counters: counters({ compared: 1 }),
      diffs: [diff('2026-01-01T00:00:00.000Z', 'a')],
    };
    expect(mergeShadowRoute(gathered([route]), 20)).toEqual(route);
    const breakers = {
      upstreams: { svc: { state: 'open' as const, transitions: { closed: 0, open: 1, 'half-open': 0 } } },
    };
    expect(mergeBreakers(gathered([breakers]))).toEqual(breakers);
    const cdc = cdcView('fresh', 5, 100, 10);
    expect(mergeCdc(gathered([cdc]))).toEqual(cdc);
  });

  it('sums shadow counters per route and says who answered', () => {
    const merged = mergeShadow(
      gathered<ShadowView>(
        [
          {
            routes: { a: counters({ compared: 3, equal: 3 }), b: counters({ dropped: 2 }) },
            inFlight: 1,
            circuits: { svc: { state: 'open', transitions: { closed: 0, open: 1, 'half-open': 0 } } },
          },
          {
            routes: { a: counters({ compared: 2, equal: 1, different: 1 }) },
            inFlight: 2,
            circuits: { svc: { state: 'closed', transitions: { closed: 0, open: 0, 'half-open': 0 } } },
          },
        ],
        { expected: 3, missing: [{ slot: 2, pid: null, reason: 'worker restarting' }] },
      ),
    );
    expect(merged).toEqual({
      routes: { a: counters({ compared: 5, equal: 4, different: 1 }), b: counters({ dropped: 2 }) },
      inFlight: 3,
      // the worst state of the workers' circuits, and how many workers are in each
      circuits: {
        svc: {
          state: 'open',
          transitions: { closed: 0, open: 1, 'half-open': 0 },
          workers: { closed: 1, open: 1, 'half-open': 0 },
        },
      },
      workers: { expected: 3, answered: 2, missing: [{ slot: 2, pid: null, reason: 'worker restarting' }] },
    });
  });

  it('keeps the newest differences of all workers, oldest first, at most keepDiffs', () => {
    const w0 = {
      route: 'r',
      mode: 'shadow',
      counters: counters({ different: 2 }),
      diffs: [diff('2026-01-01T00:00:01.000Z', 'a'), diff('2026-01-01T00:00:04.000Z', 'd')],
    };
    const w1 = {
      route: 'r',
      mode: 'shadow',
      counters: counters({ different: 2 }),
      diffs: [diff('2026-01-01T00:00:02.000Z', 'b'), diff('2026-01-01T00:00:03.000Z', 'c')],
    };
    const merged = mergeShadowRoute(gathered([w0, w1]), 3);
    expect(merged.counters).toEqual(counters({ different: 4 }));
    expect(merged.diffs.map((d) => d.requestId)).toEqual(['b', 'c', 'd']);
    expect(mergeShadowRoute(gathered([w0, w1]), 20).diffs.map((d) => d.requestId)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('reports the worst breaker state, transitions summed, and how many workers are in each state', () => {
    const merged = mergeBreakers(
      gathered<BreakersView>([
        { upstreams: { svc: { state: 'closed', transitions: { closed: 1, open: 1, 'half-open': 1 } } } },
        { upstreams: { svc: { state: 'open', transitions: { closed: 0, open: 1, 'half-open': 0 } } } },
        {
          upstreams: {
            svc: { state: 'half-open', transitions: { closed: 0, open: 1, 'half-open': 1 } },
            other: { state: 'closed', transitions: { closed: 0, open: 0, 'half-open': 0 } },
          },
        },
      ]),
    );
    expect(merged.upstreams.svc).toEqual({
      state: 'open',
      transitions: { closed: 1, open: 3, 'half-open': 2 },
      workers: { closed: 1, open: 1, 'half-open': 1 },
    });
    expect(merged.upstreams.other?.workers).toEqual({ closed: 1, open: 0, 'half-open': 0 });
  });

  it('shows the CDC worst case: ok only if every worker is, largest lag and age, newest report, counters summed', () => {
    const merged = mergeCdc(
      gathered([cdcView('fresh', 5, 100, 10), cdcView('lag', 7000, 50, 20), cdcView('fresh', null, 300, 5)]),
    );
    const up = merged.upstreams['device-management']!;
    expect(up.ok).toBe(false);
    expect(up.polls).toBe(35);
    expect(up.failures).toBe(2);
    expect(up.reportAgeMs).toBe(300);
    expect(up.lagMs).toEqual({ 'public.heating_systems': null });
    expect(up.report).toEqual({ from: 50 });
    const route = merged.routes['heating-get']!;
    expect(route.state).toBe('lag');
    expect(route.states).toEqual({ 0: 'fresh', 1: 'lag', 2: 'fresh' });
    expect(route.counters).toEqual({
      service: 35,
      source: { lag: 3, unknown: 0, pinned: 3 },
      pinned: 3,
      cancelled: 0,
      released: 3,
    });
    expect(merged.pins).toEqual({
      size: 3,
      max: 300,
      pinned: 3,
      resolvedLsn: 3,
      resolvedTime: 0,
      cancelled: 0,
      evicted: 0,
      released: 3,
    });
  });

  it('lists every worker’s metrics under a worker label: the series add up to the requests, none twice', async () => {
    const perWorker = await Promise.all(
      [3, 4].map(async (n, slot) => {
        const r = new Registry();
        new Counter({ name: 'strangler_requests_total', help: 'h', labelNames: ['route'], registers: [r] }).inc(
          { route: 'a' },
          n,
        );
        new Gauge({ name: 'strangler_route_table_version', help: 'h', registers: [r] }).set(7);
        new Gauge({ name: 'process_start_time_seconds', help: 'h', registers: [r], aggregator: 'omit' }).set(
          100 + slot,
        );
        return r.getMetricsAsJSON();
      }),
    );
    const g: Gathered<(typeof perWorker)[number]> = {
      ...gathered(perWorker),
      slots: [0, 1].map((slot) => ({
        slot,
        pid: 1000 + slot,
        state: 'ready',
        startedAt: null,
        restarts: slot,
        lastExit: null,
      })),
    };
    const text = await mergeMetrics(g).metrics();
    expect(text).toContain('strangler_requests_total{route="a",worker="0"} 3');
    expect(text).toContain('strangler_requests_total{route="a",worker="1"} 4');
    expect(text.match(/^strangler_requests_total\{/gm)).toHaveLength(2);
    expect(text).toContain('strangler_route_table_version{worker="0"} 7');
    expect(text).toContain('strangler_route_table_version{worker="1"} 7');
    expect(text).toContain('process_start_time_seconds{worker="1"} 101');
    expect(text).toContain('strangler_workers{state="configured"} 2');
    expect(text).toContain('strangler_workers{state="answered"} 2');
    expect(text).toContain('strangler_worker_restarts_total{worker="1"} 1');
  });

  it('lists every slot with what its worker said, or why it did not answer', () => {
    const self = (slot: number) => ({
      slot,
      pid: 1000 + slot,
      tableVersion: 3,
      requests: 10 * (slot + 1),
      uptimeSeconds: 5,
      rssBytes: 1,
    });
    const g: Gathered<ReturnType<typeof self>> = {
      expected: 2,
      answers: [{ worker: { slot: 0, pid: 1000 }, value: self(0) }],
      missing: [{ slot: 1, pid: null, reason: 'worker restarting' }],
      primaryPid: 99,
      slots: [
        { slot: 0, pid: 1000, state: 'ready', startedAt: 't0', restarts: 0, lastExit: null },
        {
          slot: 1,
          pid: null,
          state: 'restarting',
          startedAt: 't1',
          restarts: 0,
          lastExit: { at: 't2', code: null, signal: 'SIGKILL' },
        },
      ],
    };
    expect(mergeWorkers(g)).toEqual({
      expected: 2,
      primaryPid: 99,
      workers: [
        { ...g.slots![0], answered: true, ...self(0) },
        { ...g.slots![1], answered: false, reason: 'worker restarting' },
      ],
    });
    // one process: no primary, the process itself
    expect(mergeWorkers(gathered([self(0)]))).toEqual({
      expected: 1,
      primaryPid: null,
      workers: [{ state: 'ready', answered: true, ...self(0) }],
    });
  });
});

function cdcView(state: string, lag: number | null, reportAgeMs: number, n: number): CdcView {
  return {
    settings: { topicPrefix: 'monolith' },
    upstreams: {
      'device-management': {
        url: 'http://dm',
        ok: state === 'fresh',
        error: state === 'fresh' ? null : 'behind',
        failures: state === 'fresh' ? 0 : 2,
        polls: n,
        reportAgeMs,
        lagMs: { 'public.heating_systems': lag },
        report: { from: reportAgeMs },
      },
    },
    routes: {
      'heating-get': {
        tables: ['public.heating_systems'],
        source: 'monolith',
        maxLagMs: 5000,
        pinMs: 15000,
        state,
        counters: {
          service: n,
          source: { lag: state === 'lag' ? 3 : 0, unknown: 0, pinned: 1 },
          pinned: 1,
          cancelled: 0,
          released: 1,
        },
      },
    },
    pins: { size: 1, max: 100, pinned: 1, resolvedLsn: 1, resolvedTime: 0, cancelled: 0, evicted: 0, released: 1 },
  };
}
