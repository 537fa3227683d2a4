import { compileTable, interpolate, type TableIssue } from './compile';

const upstreams = [
  { name: 'monolith', url: 'http://127.0.0.1:8080' },
  { name: 'device-management', url: 'http://127.0.0.1:8091' },
];

function issuesOf(input: unknown, env: NodeJS.ProcessEnv = {}): TableIssue[] {
  const r = compileTable(input, { env, version: 1 });
  if (r.ok) throw new Error('expected the table to be rejected');
  return r.issues;
}

describe('compileTable', () => {
  it('accepts a valid table, applies defaults and freezes it', () => {
    const r = compileTable(
      { upstreams, routes: [{ id: 'r', path: '/a/:id', target: 'monolith' }] },
      { env: {}, version: 3 },
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.table.version).toBe(3);
    expect(r.table.spec.routes[0]).toEqual({
      id: 'r',
      methods: ['*'],
      path: '/a/:id',
      target: 'monolith',
      mode: 'forward',
      notes: '',
    });
    expect(r.table.upstreams.get('monolith')).toMatchObject({
      origin: 'http://127.0.0.1:8080',
      host: '127.0.0.1:8080',
      timeouts: { connectMs: 2000 },
    });
    expect(Object.isFrozen(r.table)).toBe(true);
  });

  it.each([
    [
      { upstreams, routes: [{ id: 'r', path: '/a', target: 'nowhere' }] },
      'routes[0].target',
      /unknown upstream "nowhere"/,
    ],
    [{ upstreams, routes: [{ id: 'r', path: 'a', target: 'monolith' }] }, 'routes[0].path', /start with/],
    [{ upstreams, routes: [{ id: 'r', path: '/a/*/b', target: 'monolith' }] }, 'routes[0].path', /last segment/],
    [{ upstreams, routes: [{ id: 'r', path: '/a//b', target: 'monolith' }] }, 'routes[0].path', /empty segment/],
    [{ upstreams, routes: [{ id: 'r', path: '/a/', target: 'monolith' }] }, 'routes[0].path', /end with/],
    [{ upstreams, routes: [{ id: 'r', path: '/a/%2F', target: 'monolith' }] }, 'routes[0].path', /invalid characters/],
    [
      { upstreams, routes: [{ id: 'r', path: '/a/:x/:x', target: 'monolith' }] },
      'routes[0].path',
      /duplicate parameter/,
    ],
    [
      { upstreams, routes: [{ id: 'r', methods: ['FETCH'], path: '/a', target: 'monolith' }] },
      'routes[0].methods[0]',
      /./,
    ],
    [
      { upstreams, routes: [{ id: 'r', methods: ['*', 'GET'], path: '/a', target: 'monolith' }] },
      'routes[0].methods',
      /only method/,
    ],
    [{ upstreams, routes: [{ id: 'r', path: '/a', target: 'monolith', mode: 'sideways' }] }, 'routes[0].mode', /./],
    [
      { upstreams, routes: [{ id: 'r', path: '/a', target: 'monolith', mode: 'shadow' }] },
      'routes[0].target',
      /must differ from its baseline/,
    ],
    [
      {
        upstreams,
        routes: [
          { id: 'r', path: '/a', target: 'device-management', mode: 'shadow', shadow: { ignore: ['timestamp'] } },
        ],
      },
      'routes[0].shadow.ignore[0]',
      /must start with "\$"/,
    ],
    [
      { upstreams, routes: [{ id: 'r', path: '/a', target: 'device-management', fallback: { to: 'billing' } }] },
      'routes[0].fallback.to',
      /unknown upstream "billing"/,
    ],
    [{ upstreams, routes: [{ id: 'r', path: '/a', target: 'monolith', extra: 1 }] }, 'routes[0]', /extra/],
    [
      {
        upstreams,
        routes: [
          { id: 'r', path: '/a', target: 'monolith' },
          { id: 'r', path: '/b', target: 'monolith' },
        ],
      },
      'routes[1].id',
      /duplicate route id/,
    ],
    [
      {
        upstreams,
        routes: [
          { id: 'r1', methods: ['GET', 'PUT'], path: '/a/:id', target: 'monolith' },
          { id: 'r2', methods: ['PUT'], path: '/a/:other', target: 'device-management' },
        ],
      },
      'routes[1].methods',
      /conflicts with "r1"/,
    ],
    [
      { upstreams: [...upstreams, { name: 'monolith', url: 'http://x:1' }], routes: [] },
      'upstreams[2].name',
      /duplicate upstream/,
    ],
    [{ upstreams: [{ name: 'monolith', url: 'http://h:1/base' }], routes: [] }, 'upstreams[0].url', /without path/],
    [{ upstreams: [{ name: 'monolith', url: 'ftp://h:1' }], routes: [] }, 'upstreams[0].url', /http/],
    [{ upstreams: [{ name: 'monolith', url: 'http://u:p@h:1' }], routes: [] }, 'upstreams[0].url', /credentials/],
    [
      { upstreams: [{ name: 'monolith', url: 'http://h:1', timeouts: { connectMs: -1 } }], routes: [] },
      'upstreams[0].timeouts.connectMs',
      /./,
    ],
    [
      { upstreams: [{ name: 'device-management', url: 'http://h:1' }], routes: [] },
      'defaultTarget',
      /unknown upstream "monolith"/,
    ],
    [{ upstreams: [], routes: [] }, 'upstreams', /./],
  ])('rejects %j naming %s', (input, path, message) => {
    const issues = issuesOf(input);
    const issue = issues.find((i) => i.path === path);
    expect(issue).toBeDefined();
    expect(issue!.message).toMatch(message);
  });

  describe('shadow.sampleRate', () => {
    const shadowRoute = (shadow?: object) => ({
      upstreams,
      routes: [{ id: 'r', path: '/a', target: 'device-management', mode: 'shadow', ...(shadow && { shadow }) }],
    });
    const compiledRate = (shadow?: object) => {
      const r = compileTable(shadowRoute(shadow), { env: {}, version: 1 });
      if (!r.ok) throw new Error(JSON.stringify(r.issues));
      return r.table.routes[0]!.shadow!.spec.sampleRate;
    };

    it('is 1 (every request) by default and accepts any share in (0, 1]', () => {
      expect(compiledRate()).toBe(1);
      expect(compiledRate({ dryRun: true })).toBe(1);
      expect(compiledRate({ sampleRate: 0.25 })).toBe(0.25);
      expect(compiledRate({ sampleRate: 0.0001 })).toBe(0.0001);
      expect(compiledRate({ sampleRate: 1 })).toBe(1);
    });

    it.each([0, -0.5, 1.5, 2])('rejects %s', (sampleRate) => {
      expect(issuesOf(shadowRoute({ sampleRate })).map((i) => i.path)).toEqual(['routes[0].shadow.sampleRate']);
    });
  });

  it('reports every issue at once, never dropping a single route', () => {
    const issues = issuesOf({
      upstreams,
      routes: [
        { id: 'ok', path: '/ok', target: 'monolith' },
        { id: 'bad1', path: '/a', target: 'x' },
        { id: 'bad2', path: 'b', target: 'monolith' },
      ],
    });
    expect(issues.map((i) => i.path).sort()).toEqual(['routes[1].target', 'routes[2].path']);
  });

  it('resolves ${VAR} and ${VAR:-default} in upstream URLs and names a missing variable', () => {
    const input = {
      upstreams: [
        { name: 'monolith', url: '${MONO_URL}' },
        { name: 'telemetry', url: '${TEL_URL:-http://t:9}' },
      ],
    };
    const r = compileTable(input, { env: { MONO_URL: 'http://m:1' }, version: 1 });
    expect(r.ok && [...r.table.upstreams.values()].map((u) => u.origin)).toEqual(['http://m:1', 'http://t:9']);
    expect(issuesOf(input)).toEqual([
      { path: 'upstreams[0].url', message: 'environment variable MONO_URL is not set' },
    ]);
    expect(interpolate('a${X}b', { X: '1' })).toEqual({ value: 'a1b', missing: [] });
  });

  it('lets a GET route claim HEAD unless a sibling claims HEAD', () => {
    const r = compileTable(
      {
        upstreams,
        routes: [
          { id: 'g', methods: ['GET'], path: '/a', target: 'monolith' },
          { id: 'g2', methods: ['GET'], path: '/b', target: 'monolith' },
          { id: 'h2', methods: ['HEAD'], path: '/b', target: 'device-management' },
        ],
      },
      { env: {}, version: 1 },
    );
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    const methods = Object.fromEntries(r.table.routes.map((x) => [x.id, [...(x.methods ?? [])].sort()]));
    expect(methods).toEqual({ g: ['GET', 'HEAD'], g2: ['GET'], h2: ['HEAD'] });
  });
});
