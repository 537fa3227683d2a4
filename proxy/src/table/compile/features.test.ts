import { compilePattern } from '../../routing/pattern';
import { RouteSchema, UpstreamSchema, type RouteSpec } from '../schema';
import { compileCanary } from './canary';
import { compileCdc } from './cdc';
import type { RouteContext } from './context';
import { compileFallback } from './fallback';
import { checkPlan } from './plan';
import { compileMatch, routesConflict, withImplicitHead, type CompiledRoute } from './route';
import { compileShadow } from './shadow';
import { compileUpstream, type CompiledUpstream } from './upstream';

/** Feature compilers on their own: each takes a route and the table context and returns its part and issues. */

function upstream(name: string, url = 'http://127.0.0.1:8080'): CompiledUpstream {
  const r = compileUpstream(UpstreamSchema.parse({ name, url }), { at: 'upstreams[0]', env: {} });
  return r.value!;
}

const monolith = upstream('monolith');
const service = upstream('service', 'http://127.0.0.1:8091');

function route(fields: Record<string, unknown>): RouteSpec {
  return RouteSchema.parse({ id: 'r', path: '/api/houses/:id', target: 'service', ...fields });
}

function ctx(over: Partial<RouteContext> = {}): RouteContext {
  return {
    at: 'routes[0]',
    defaultTarget: 'monolith',
    upstreams: new Map([
      ['monolith', monolith],
      ['service', service],
    ]),
    known: new Set(['monolith', 'service']),
    checkTargets: true,
    pattern: compilePattern('/api/houses/:id'),
    ...over,
  };
}

const NO_FEATURES = { canary: undefined, fallback: undefined, shadow: undefined } as const;

describe('compileUpstream', () => {
  it('resolves placeholders and fills in breaker defaults', () => {
    const u = UpstreamSchema.parse({ name: 'svc', url: 'http://${HOST}:${PORT:-9000}' });
    const r = compileUpstream(u, { at: 'upstreams[1]', env: { HOST: 'svc.local' } });
    expect(r.issues).toEqual([]);
    expect(r.value).toMatchObject({
      origin: 'http://svc.local:9000',
      host: 'svc.local:9000',
      breaker: { failures: 5 },
    });
  });

  it.each([
    ['http://${NOPE}', 'environment variable NOPE is not set'],
    ['not a url', 'not a valid URL: "not a url"'],
    ['ftp://h:1', 'must be http:// or https:// (got "ftp://h:1")'],
    ['http://u:p@h:1', 'must not contain credentials (got "http://u:p@h:1")'],
    ['http://h:1/base', 'must be a base URL without path, query or fragment (got "http://h:1/base")'],
  ])('refuses %s', (url, message) => {
    const r = compileUpstream(UpstreamSchema.parse({ name: 'svc', url }), { at: 'upstreams[1]', env: {} });
    expect(r).toEqual({ value: undefined, issues: [{ path: 'upstreams[1].url', message }] });
  });
});

describe('compileMatch', () => {
  it('compiles path, methods and headers, and resolves the target', () => {
    const r = compileMatch(route({ methods: ['GET'], headers: { 'X-B': '2', 'X-A': '1' } }), ctx());
    expect(r.issues).toEqual([]);
    expect(r.value.upstream).toBe(service);
    expect(r.value.methods).toEqual(new Set(['GET']));
    expect(r.value.headers).toEqual([
      ['x-a', '1'],
      ['x-b', '2'],
    ]);
  });

  it('reports an unknown target only while targets are checked', () => {
    const r = route({ target: 'ghost' });
    expect(compileMatch(r, ctx()).issues).toEqual([
      { path: 'routes[0].target', message: 'unknown upstream "ghost" (known: monolith, service)' },
    ]);
    expect(compileMatch(r, ctx({ checkTargets: false })).issues).toEqual([]);
  });

  it('tells routes claiming the same requests apart, and adds HEAD beside GET', () => {
    const compiled = (id: string, methods: string[], index: number): CompiledRoute => {
      const m = compileMatch(route({ id, methods }), ctx()).value;
      return { ...m, spec: route({ id }), id, index, pattern: m.pattern!, upstream: m.upstream!, ...NO_FEATURES };
    };
    const get = compiled('get', ['GET'], 0);
    const put = compiled('put', ['PUT', 'GET'], 1);
    const head = compiled('head', ['HEAD'], 2);
    expect(routesConflict(get, put)).toBe(true);
    expect(routesConflict(get, head)).toBe(false);
    expect(withImplicitHead([get]).map((r) => [...r.methods!])).toEqual([['GET', 'HEAD']]);
    expect(withImplicitHead([get, head])[0]!.methods).toEqual(new Set(['GET']));
  });
});

describe('compileCanary', () => {
  it('is off outside mode canary', () => {
    expect(compileCanary(route({ weight: 10 }), ctx())).toEqual({ value: undefined, issues: [] });
  });

  it('resolves weight, baseline and key position', () => {
    const r = compileCanary(route({ mode: 'canary', weight: 25, canary: { key: { param: 'id' } } }), ctx());
    expect(r).toEqual({
      value: { threshold: 2500, baseline: monolith, header: undefined, paramIndex: 2, allowOverride: false },
      issues: [],
    });
  });

  it('reports a missing weight, an unknown baseline and a key parameter the path lacks, all at once', () => {
    const r = compileCanary(route({ mode: 'canary', canary: { baseline: 'ghost', key: { param: 'nope' } } }), ctx());
    expect(r.value).toBeUndefined();
    expect(r.issues.map((i) => i.path)).toEqual([
      'routes[0].weight',
      'routes[0].canary.baseline',
      'routes[0].canary.key.param',
    ]);
  });
});

describe('compileFallback', () => {
  it('falls back to the canary baseline, else the default target', () => {
    const plain = compileFallback(route({ fallback: { statuses: [404] } }), ctx());
    expect(plain.value).toEqual({ upstream: monolith, statuses: new Set([404]) });
    const canary = route({ mode: 'canary', weight: 5, canary: { baseline: 'service' }, fallback: {} });
    expect(compileFallback(canary, ctx()).value?.upstream).toBe(service);
  });

  it('reports an unknown `to` only while targets are checked', () => {
    const r = route({ fallback: { to: 'ghost' } });
    expect(compileFallback(r, ctx()).issues).toEqual([
      { path: 'routes[0].fallback.to', message: 'unknown upstream "ghost" (known: monolith, service)' },
    ]);
    expect(compileFallback(r, ctx({ checkTargets: false })).issues).toEqual([]);
  });
});

describe('compileShadow', () => {
  it('resolves the baseline and the ignored paths', () => {
    const r = compileShadow(route({ mode: 'shadow', shadow: { ignore: ['$.updatedAt'] } }), ctx());
    expect(r.issues).toEqual([]);
    expect(r.value?.baseline).toBe(monolith);
    expect(r.value?.ignored(['updatedAt'])).toBe(true);
  });

  it('refuses a shadow whose target is its baseline', () => {
    const r = compileShadow(route({ mode: 'shadow', target: 'monolith' }), ctx());
    expect(r.issues).toEqual([
      { path: 'routes[0].target', message: 'a shadow route\'s target must differ from its baseline ("monolith")' },
    ]);
  });
});

describe('checkPlan', () => {
  it('refuses a plan whose service is its monolith, or unknown', () => {
    expect(checkPlan(route({ plan: { service: 'service' } }), ctx())).toEqual([]);
    expect(checkPlan(route({ plan: { service: 'monolith' } }), ctx())).toEqual([
      { path: 'routes[0].plan.service', message: 'must differ from the plan\'s monolith ("monolith")' },
    ]);
    expect(checkPlan(route({ plan: { service: 'ghost' } }), ctx()).map((i) => i.path)).toEqual([
      'routes[0].plan.service',
    ]);
    expect(checkPlan(route({ plan: { service: 'ghost' } }), ctx({ checkTargets: false }))).toEqual([]);
  });
});

describe('compileCdc', () => {
  it("takes the canary's key when it has none of its own", () => {
    const r = compileCdc(
      route({ mode: 'canary', weight: 5, canary: { key: { param: 'id' } }, cdc: { tables: ['public.houses'] } }),
      ctx(),
    );
    expect(r.issues).toEqual([]);
    expect(r.value).toMatchObject({ source: monolith, paramIndex: 2, pinMs: undefined });
  });

  it('reports every table listed twice', () => {
    const r = compileCdc(route({ cdc: { tables: ['public.a', 'public.b', 'public.a', 'public.a'] } }), ctx());
    expect(r.issues.map((i) => i.path)).toEqual(['routes[0].cdc.tables[2]', 'routes[0].cdc.tables[3]']);
  });
});
