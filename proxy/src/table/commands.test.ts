import type { ChangeMeta } from './change';
import { deleteRoute, pauseOnManualChange, putRoute, replaceTable, routeBody, updateRoute } from './commands';
import { TableSpecSchema, type RouteInput, type TableSpec } from './schema';

const plan = { service: 'device-management', canary: [25, 50], dwellSeconds: 300 };
const admin: ChangeMeta = { actor: 'alice', source: 'admin-api', reason: 'manual move' };
const runner: ChangeMeta = { actor: 'plan-runner', source: 'plan', reason: 'step' };
const options = { env: {}, version: 7 };

function table(...routes: RouteInput[]): TableSpec {
  return TableSpecSchema.parse({
    upstreams: [
      { name: 'monolith', url: 'http://127.0.0.1:8080' },
      { name: 'device-management', url: 'http://127.0.0.1:8091' },
    ],
    routes,
  });
}
const base = table(
  { id: 'get', methods: ['GET'], path: '/api/heating/:id', target: 'monolith', plan },
  { id: 'turn-on', methods: ['POST'], path: '/api/heating/:id/turn-on', target: 'monolith' },
);

/** The route `id` of a built table (the command must have succeeded). */
function routeOf(built: ReturnType<ReturnType<typeof replaceTable>>, id: string) {
  if (!built.result.ok) throw new Error(JSON.stringify(built.result.issues));
  return built.result.table.spec.routes.find((r) => r.id === id);
}

describe('change commands (pure: the table in force → the next table)', () => {
  it('replaceTable compiles the new table as the given version', () => {
    const built = replaceTable(base)(undefined, options);
    expect(built.result.ok && built.result.table.version).toBe(7);
  });

  it('updateRoute changes only the fields given, and a person moving a route pauses its active plan', () => {
    const built = updateRoute('get', { target: 'device-management', weight: undefined }, admin)(base, options);
    expect(routeOf(built, 'get')).toMatchObject({ target: 'device-management', plan: { status: 'paused' } });
    expect(routeOf(built, 'turn-on')).toEqual(base.routes[1]);
  });

  it("updateRoute by the plan runner keeps the plan active; planStatus sets the plan's status", () => {
    const moved = updateRoute('get', { target: 'device-management' }, runner)(base, options);
    expect(routeOf(moved, 'get')!.plan!.status).toBe('active');
    const ended = updateRoute('get', { planStatus: 'done' }, admin)(base, options);
    expect(routeOf(ended, 'get')!.plan!.status).toBe('done');
  });

  it("issues of a one-route change name the route's own fields", () => {
    const built = updateRoute('turn-on', { target: 'ghost' }, admin)(base, options);
    expect(built.result).toEqual({
      ok: false,
      issues: [{ path: 'target', message: 'unknown upstream "ghost" (known: monolith, device-management)' }],
    });
  });

  it('updateRoute and deleteRoute of an unknown route throw PROXY_ERR_ROUTE_NOT_FOUND', () => {
    const notFound = expect.objectContaining({ code: 'PROXY_ERR_ROUTE_NOT_FOUND' });
    expect(() => updateRoute('nope', { target: 'monolith' }, admin)(base, options)).toThrow(notFound);
    expect(() => deleteRoute('nope')(base, options)).toThrow(notFound);
  });

  it('putRoute says whether the route is new, and replaces an existing one in place', () => {
    const created = putRoute('new', { id: 'new', path: '/api/new', target: 'monolith' })(base, options);
    expect(created.created).toBe(true);
    expect(created.result.ok && created.result.table.spec.routes.map((r) => r.id)).toEqual(['get', 'turn-on', 'new']);
    const replaced = putRoute('turn-on', { path: '/api/other', target: 'monolith', id: 'turn-on' })(base, options);
    expect(replaced.created).toBe(false);
    expect(routeOf(replaced, 'turn-on')!.path).toBe('/api/other');
  });

  it('deleteRoute removes the route', () => {
    const built = deleteRoute('turn-on')(base, options);
    expect(built.result.ok && built.result.table.spec.routes.map((r) => r.id)).toEqual(['get']);
  });

  it("routeBody takes the URL's id, and refuses what is not a route object or names another id", () => {
    expect(routeBody('r', { path: '/a' })).toEqual({ ok: true, body: { path: '/a', id: 'r' } });
    expect(routeBody('r', [])).toEqual({
      ok: false,
      issues: [{ path: '(body)', message: 'must be a JSON object (a route)' }],
    });
    expect(routeBody('r', { id: 'x' })).toEqual({
      ok: false,
      issues: [{ path: 'id', message: 'must equal the id in the URL ("r")' }],
    });
  });

  it('pauseOnManualChange leaves a route alone when nothing that moves it changed', () => {
    const get = base.routes[0]!;
    expect(pauseOnManualChange(get, { ...get, notes: 'x' }, admin)).toEqual({ ...get, notes: 'x' });
  });
});
