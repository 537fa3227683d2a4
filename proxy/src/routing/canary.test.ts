import type { RouteInput } from '../table/schema';
import { compileTable } from '../table/compile';
import { tableOf } from '../testing/upstreams';
import { canaryBucket } from './canary';
import { decide } from './decide';

const upstreams = [
  { name: 'monolith', url: 'http://127.0.0.1:1' },
  { name: 'device-management', url: 'http://127.0.0.1:2' },
  { name: 'telemetry', url: 'http://127.0.0.1:3' },
];

const canaryRoute = (weight: number, extra: Partial<RouteInput> = {}): RouteInput => ({
  id: 'heating-get',
  methods: ['GET'],
  path: '/api/heating/:id',
  target: 'device-management',
  mode: 'canary',
  weight,
  canary: { key: { header: 'X-House-Id' } },
  ...extra,
});

const at = (weight: number, extra: Partial<RouteInput> = {}) =>
  tableOf({ upstreams, routes: [canaryRoute(weight, extra)] });

const upstreamOf = (d: ReturnType<typeof decide>): string =>
  d.action === 'forward' ? d.upstream.name : `refused:${d.code}`;

const KEYS = Array.from({ length: 10_000 }, (_, i) => `house-${i}`);

describe('canary (sticky weighted split)', () => {
  it('10,000 keys at 30 % → 30 % ± 2 % go to the service', () => {
    const table = at(30);
    const toService = KEYS.filter(
      (k) => upstreamOf(decide('GET', '/api/heating/1', { 'x-house-id': k }, table)) === 'device-management',
    ).length;
    expect(toService / KEYS.length).toBeGreaterThanOrEqual(0.28);
    expect(toService / KEYS.length).toBeLessThanOrEqual(0.32);
  });

  it('raising the weight 30 → 50 → 100 only moves keys from the monolith to the service, never back', () => {
    const side = (weight: number) => {
      const table = at(weight);
      return new Map(KEYS.map((k) => [k, upstreamOf(decide('GET', '/api/heating/1', { 'x-house-id': k }, table))]));
    };
    const w30 = side(30);
    const w50 = side(50);
    const w100 = side(100);
    let moved = 0;
    for (const k of KEYS) {
      if (w30.get(k) === 'device-management') expect(w50.get(k)).toBe('device-management');
      if (w30.get(k) !== w50.get(k)) moved++;
      expect(w100.get(k)).toBe('device-management');
    }
    expect(moved / KEYS.length).toBeGreaterThan(0.17);
    expect(moved / KEYS.length).toBeLessThan(0.23);
    expect([...side(0).values()].every((u) => u === 'monolith')).toBe(true);
  });

  it('the same key keeps its side on every request and in a freshly compiled table (bucket depends on the key only)', () => {
    const first = at(30, {});
    const again = at(30, {}); // a new table, as after a restart
    for (const k of KEYS.slice(0, 500)) {
      const a = upstreamOf(decide('GET', '/api/heating/1', { 'x-house-id': k }, first));
      expect(upstreamOf(decide('GET', '/api/heating/2', { 'x-house-id': k }, first))).toBe(a);
      expect(upstreamOf(decide('GET', '/api/heating/1', { 'x-house-id': k }, again))).toBe(a);
    }
    // Pinned: a change of hash function would reshuffle every key in production.
    expect(canaryBucket('house-1')).toBe(8860);
  });

  it('key from the path parameter when the header is absent, else the client address', () => {
    const table = at(50, { canary: { key: { header: 'x-house-id', param: 'id' } } });
    const byPath = (id: string) => upstreamOf(decide('GET', `/api/heating/${id}`, {}, table, '10.0.0.1'));
    const ids = Array.from({ length: 200 }, (_, i) => `hs-${i}`);
    const sides = new Set(ids.map(byPath));
    expect(sides).toEqual(new Set(['device-management', 'monolith'])); // the path id decides, not the address
    for (const id of ids) {
      expect(byPath(id)).toBe(canaryBucket(id) < 5_000 ? 'device-management' : 'monolith');
    }
    const byAddress = at(50, { canary: {} });
    for (const ip of ['10.0.0.1', '10.0.0.2', '192.168.1.7']) {
      expect(upstreamOf(decide('GET', '/api/heating/1', {}, byAddress, ip))).toBe(
        canaryBucket(ip) < 5_000 ? 'device-management' : 'monolith',
      );
    }
  });

  it('a baseline other than the default target', () => {
    const table = at(0, { canary: { baseline: 'telemetry' } });
    expect(upstreamOf(decide('GET', '/api/heating/1', {}, table, '10.0.0.1'))).toBe('telemetry');
  });

  it('X-Strangler-Target wins over the weight only when the route allows it', () => {
    const allowed = at(0, { canary: { allowOverride: true } });
    const denied = at(0);
    const h = (v: string) => ({ 'x-strangler-target': v });
    expect(upstreamOf(decide('GET', '/api/heating/1', h('service'), allowed))).toBe('device-management');
    expect(upstreamOf(decide('GET', '/api/heating/1', h('device-management'), allowed))).toBe('device-management');
    expect(upstreamOf(decide('GET', '/api/heating/1', h('service'), denied))).toBe('monolith');
    const full = at(100, { canary: { allowOverride: true } });
    expect(upstreamOf(decide('GET', '/api/heating/1', h('monolith'), full))).toBe('monolith');
    expect(upstreamOf(decide('GET', '/api/heating/1', h('telemetry'), full))).toBe('device-management'); // not a side
  });

  it('the override header does nothing on a forward route', () => {
    const table = tableOf({
      upstreams,
      routes: [{ id: 'r', path: '/api/heating/:id', target: 'device-management' }],
    });
    expect(upstreamOf(decide('GET', '/api/heating/1', { 'x-strangler-target': 'monolith' }, table))).toBe(
      'device-management',
    );
  });

  it('a bad canary route is refused with every issue named', () => {
    const result = compileTable(
      {
        upstreams,
        routes: [
          { id: 'a', path: '/api/a/:id', target: 'device-management', mode: 'canary' },
          {
            id: 'b',
            path: '/api/b/:id',
            target: 'device-management',
            mode: 'canary',
            weight: 10,
            canary: { baseline: 'billing', key: { param: 'houseId' } },
          },
          { id: 'c', path: '/api/c', target: 'device-management', mode: 'canary', weight: 101 },
        ],
      },
      { env: {}, version: 1 },
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toEqual(
      expect.arrayContaining([
        { path: 'routes[0].weight', message: expect.stringMatching(/needs a weight/) },
        { path: 'routes[1].canary.baseline', message: expect.stringMatching(/unknown upstream "billing"/) },
        { path: 'routes[1].canary.key.param', message: expect.stringMatching(/no parameter ":houseId"/) },
        { path: 'routes[2].weight', message: expect.stringMatching(/100/) },
      ]),
    );
  });
});
