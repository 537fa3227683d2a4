import type { RouteInput } from '../table/schema';
import { tableOf } from '../testing/upstreams';
import { decide, DEFAULT_ROUTE_ID } from './decide';

const upstreams = [
  { name: 'monolith', url: 'http://127.0.0.1:1' },
  { name: 'device-management', url: 'http://127.0.0.1:2' },
  { name: 'telemetry', url: 'http://127.0.0.1:3' },
];

const table = tableOf({
  upstreams,
  routes: [
    { id: 'heating-any', path: '/api/heating/*', target: 'monolith' },
    { id: 'heating-get', methods: ['GET'], path: '/api/heating/:id', target: 'device-management' },
    { id: 'heating-put', methods: ['PUT'], path: '/api/heating/:id', target: 'monolith' },
    { id: 'turn-on', methods: ['POST'], path: '/api/heating/:id/turn-on', target: 'device-management' },
    { id: 'turn-on-literal', methods: ['POST'], path: '/api/heating/special/turn-on', target: 'telemetry' },
    { id: 'devices', path: '/api/devices/*', target: 'device-management' },
    { id: 'devices-exact', path: '/api/devices', target: 'telemetry' },
    { id: 'canary', methods: ['GET'], path: '/api/heating/:id', headers: { 'X-Canary': 'yes' }, target: 'telemetry' },
    { id: 'telemetry-param-then-wild', path: '/api/telemetry/:kind/*', target: 'telemetry' },
    { id: 'telemetry-wild', path: '/api/telemetry/*', target: 'monolith' },
    { id: 'head-only', methods: ['HEAD'], path: '/api/sensors/:id', target: 'telemetry' },
    { id: 'get-sensors', methods: ['GET'], path: '/api/sensors/:id', target: 'device-management' },
  ],
});

describe('decide (most specific route wins)', () => {
  it.each([
    // [method, url, headers, routeId, upstream, forwarded target]
    ['GET', '/api/heating/1', {}, 'heating-get', 'device-management', '/api/heating/1'],
    ['HEAD', '/api/heating/1', {}, 'heating-get', 'device-management', '/api/heating/1'], // GET claims HEAD
    ['PUT', '/api/heating/1', {}, 'heating-put', 'monolith', '/api/heating/1'],
    ['DELETE', '/api/heating/1', {}, 'heating-any', 'monolith', '/api/heating/1'], // param beats wildcard only if methods match
    ['POST', '/api/heating/7/turn-on', {}, 'turn-on', 'device-management', '/api/heating/7/turn-on'],
    ['POST', '/api/heating/special/turn-on', {}, 'turn-on-literal', 'telemetry', '/api/heating/special/turn-on'], // literal > param
    ['POST', '/api/heating/7/turn-off', {}, 'heating-any', 'monolith', '/api/heating/7/turn-off'],
    ['GET', '/api/heating', {}, 'heating-any', 'monolith', '/api/heating'], // * matches zero segments
    ['GET', '/api/devices', {}, 'devices-exact', 'telemetry', '/api/devices'], // end of pattern beats *
    ['GET', '/api/devices/9/state', {}, 'devices', 'device-management', '/api/devices/9/state'],
    ['GET', '/api/heating/1', { 'x-canary': 'yes' }, 'canary', 'telemetry', '/api/heating/1'], // more header conditions
    ['GET', '/api/heating/1', { 'x-canary': 'no' }, 'heating-get', 'device-management', '/api/heating/1'],
    ['GET', '/api/telemetry/temp/1', {}, 'telemetry-param-then-wild', 'telemetry', '/api/telemetry/temp/1'],
    ['GET', '/api/telemetry', {}, 'telemetry-wild', 'monolith', '/api/telemetry'],
    ['HEAD', '/api/sensors/1', {}, 'head-only', 'telemetry', '/api/sensors/1'], // explicit HEAD route keeps HEAD
    ['GET', '/api/sensors/1', {}, 'get-sensors', 'device-management', '/api/sensors/1'],
    ['GET', '/', {}, DEFAULT_ROUTE_ID, 'monolith', '/'],
    ['GET', '/unknown/path?x=1', {}, DEFAULT_ROUTE_ID, 'monolith', '/unknown/path?x=1'],
    // how upstreams read paths: case, percent-encoded letters, trailing slash, matrix params
    ['POST', '/API/Heating/7/Turn-On', {}, 'turn-on', 'device-management', '/API/Heating/7/Turn-On'],
    ['POST', '/api/heat%69ng/7/turn-on', {}, 'turn-on', 'device-management', '/api/heat%69ng/7/turn-on'],
    ['POST', '/api/heating/7/turn-on/', {}, 'turn-on', 'device-management', '/api/heating/7/turn-on/'],
    [
      'POST',
      '/api/heating/7;jsessionid=x/turn-on',
      {},
      'turn-on',
      'device-management',
      '/api/heating/7;jsessionid=x/turn-on',
    ],
    [
      'POST',
      '/api/heating/7/turn-on?next=/../../admin',
      {},
      'turn-on',
      'device-management',
      '/api/heating/7/turn-on?next=/../../admin',
    ],
    [
      'POST',
      'http://example.test/api/heating/7/turn-on?x=1',
      {},
      'turn-on',
      'device-management',
      '/api/heating/7/turn-on?x=1',
    ],
  ])('%s %s %j → %s on %s', (method, url, headers, routeId, upstream, target) => {
    const d = decide(method, url, headers, table);
    expect(d).toMatchObject({ action: 'forward', routeId, target });
    expect(d.action === 'forward' && d.upstream.name).toBe(upstream);
  });

  it.each([
    ['/api/heating/%2e%2e/admin', 'dot segment'],
    ['/api/heating/%2E/turn-on', 'dot segment'],
    ['/api/heating/../admin', 'dot segment'],
    ['/api/heating/./1', 'dot segment'],
    ['/api/heating%2F1/turn-on', 'encoded "/"'],
    ['/api/heating/1%5Cturn-on', 'encoded "/" or "\\"'],
    ['/api//heating/1/turn-on', 'empty path segment'],
    ['//api/heating/1', 'empty path segment'],
    ['/api/heating/1\\turn-on', 'backslash'],
    ['/api/heating/%zz', 'invalid percent-encoding'],
    ['/api/heating/%', 'invalid percent-encoding'],
    ['/api/heating/%C0%AE', 'not valid UTF-8'],
    ['/api/heating/%00', 'control character'],
    ['/api/heating/;x/turn-on', 'only matrix parameters'],
    ['/api/heating/1#frag', 'fragment'],
  ])('refuses %s (%s)', (url, reason) => {
    const d = decide('POST', url, {}, table);
    expect(d).toMatchObject({ action: 'respond', code: 'PROXY_ERR_AMBIGUOUS_PATH' });
    expect(d.action === 'respond' && d.reason).toContain(reason);
  });

  it.each(['*', 'example.test:443', 'api/heating/1'])('refuses the non-origin-form target %s', (url) => {
    expect(decide('OPTIONS', url, {}, table)).toMatchObject({
      action: 'respond',
      code: 'PROXY_ERR_UNSUPPORTED_TARGET',
    });
  });

  it('answers 503 for a route in mode unavailable, naming route and upstream', () => {
    const t = tableOf({
      upstreams,
      routes: [{ id: 'frozen', path: '/api/heating/:id', target: 'device-management', mode: 'unavailable' }],
    });
    expect(decide('PUT', '/api/heating/1', {}, t)).toMatchObject({
      action: 'respond',
      code: 'PROXY_ERR_ROUTE_UNAVAILABLE',
      routeId: 'frozen',
      upstream: 'device-management',
    });
  });

  it('sends unclaimed requests to defaultTarget', () => {
    const t = tableOf({ defaultTarget: 'telemetry', upstreams, routes: [] });
    expect(decide('GET', '/x', {}, t)).toMatchObject({
      action: 'forward',
      routeId: DEFAULT_ROUTE_ID,
      upstream: { name: 'telemetry' },
    });
  });

  it('does not depend on the order of routes in the table, except as the last tie-break', () => {
    const routes = [
      { id: 'a', path: '/x/*', target: 'monolith' },
      { id: 'b', path: '/x/:id', target: 'telemetry' },
      { id: 'c', methods: ['GET' as const], path: '/x/:id', target: 'device-management' },
    ];
    const forward = tableOf({ upstreams, routes });
    const reversed = tableOf({ upstreams, routes: [...routes].reverse() });
    for (const [m, u] of [
      ['GET', '/x/1'],
      ['POST', '/x/1'],
      ['GET', '/x/1/2'],
    ] as const) {
      expect(decide(m, u, {}, forward)).toMatchObject({
        routeId: (decide(m, u, {}, reversed) as { routeId: string }).routeId,
      });
    }
    expect(decide('GET', '/x/1', {}, forward)).toMatchObject({ routeId: 'c' });
    expect(decide('POST', '/x/1', {}, forward)).toMatchObject({ routeId: 'b' });
  });

  it('breaks remaining ties by table order (different header conditions, same count)', () => {
    const routes: RouteInput[] = [
      { id: 'first', path: '/y', headers: { 'x-a': '1' }, target: 'telemetry' },
      { id: 'second', path: '/y', headers: { 'x-b': '1' }, target: 'device-management' },
    ];
    expect(decide('GET', '/y', { 'x-a': '1', 'x-b': '1' }, tableOf({ upstreams, routes }))).toMatchObject({
      routeId: 'first',
    });
    expect(
      decide('GET', '/y', { 'x-a': '1', 'x-b': '1' }, tableOf({ upstreams, routes: [...routes].reverse() })),
    ).toMatchObject({
      routeId: 'second',
    });
  });
});
