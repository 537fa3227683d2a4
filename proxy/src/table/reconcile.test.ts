import type { StoredVersion } from '../control/backend';
import { compileTable, type CompiledTable } from './compile';
import type { LoadedFile } from './load';
import { compileRoutesFile, headStep, reconcileFile, refusedMeta, startupFileStep } from './reconcile';
import { TableSpecSchema, type TableSpecInput } from './schema';

const at = '2024-05-01T10:00:00.000Z';
const plan = { service: 'device-management', canary: [25, 50], dwellSeconds: 300 };
const spec = (target: string, extra: object = {}): TableSpecInput => ({
  upstreams: [
    { name: 'monolith', url: 'http://127.0.0.1:8080' },
    { name: 'device-management', url: 'http://127.0.0.1:8091' },
  ],
  routes: [{ id: 'get', path: '/api/heating/:id', target, ...extra }],
});
const stored = (version: number, s: unknown = spec('monolith')): StoredVersion => ({
  version,
  spec: s,
  sourceSha256: null,
  actor: 'alice',
  source: 'admin-api',
  reason: 'why',
});
function compiled(version: number): CompiledTable {
  const r = compileTable(spec('monolith'), { env: {}, version });
  if (!r.ok) throw new Error('expected the table to compile');
  return r.table;
}
const okFile: LoadedFile = { ok: true, path: 'routes.yaml', sha256: 'abc', data: spec('monolith') };
const badFile: LoadedFile = {
  ok: false,
  path: 'routes.yaml',
  sha256: 'def',
  issues: [{ path: 'line 1, column 2', message: 'bad' }],
};

describe('headStep (the newest stored version → serve, refuse or nothing)', () => {
  const env = {};

  it('serves a newer version, and any version while nothing from the store is served', () => {
    const inForce = { headVersion: 2, table: compiled(2), fromStore: true };
    expect(headStep(stored(3), inForce, env)).toMatchObject({ kind: 'serve', table: { version: 3 } });
    expect(headStep(stored(2), { ...inForce, fromStore: false }, env).kind).toBe('serve');
    expect(headStep(stored(1), { headVersion: 0, table: undefined, fromStore: true }, env).kind).toBe('serve');
  });

  it('does nothing without a newer version', () => {
    const inForce = { headVersion: 2, table: compiled(2), fromStore: true };
    expect(headStep(stored(2), inForce, env)).toEqual({ kind: 'none' });
    expect(headStep(undefined, inForce, env)).toEqual({ kind: 'none' });
  });

  it('refuses a version that does not compile, with its issues', () => {
    const step = headStep(stored(3, spec('ghost')), { headVersion: 2, table: compiled(2), fromStore: true }, env);
    expect(step).toMatchObject({ kind: 'refuse', head: { version: 3 }, issues: [{ path: 'routes[0].target' }] });
  });

  it('names the refused version in the audit meta', () => {
    expect(refusedMeta(4, [{ path: 'a', message: 'b' }])).toEqual({
      actor: 'store:version 4',
      source: 'store',
      reason: 'stored version 4 refused: a: b',
    });
  });
});

describe('startupFileStep (the routes file at start-up)', () => {
  it('does nothing without a routes file', () => {
    expect(startupFileStep({ file: undefined, hasTable: true, at })).toEqual({ kind: 'none' });
  });

  it('reconciles a good file: the initial load, or a change made while the proxy was stopped', () => {
    expect(startupFileStep({ file: okFile, hasTable: false, at })).toEqual({
      kind: 'reconcile',
      file: okFile,
      meta: { actor: 'file:routes.yaml', source: 'startup', reason: 'initial load' },
    });
    expect(startupFileStep({ file: okFile, hasTable: true, at })).toMatchObject({
      meta: { reason: 'routes file changed while the proxy was stopped' },
    });
  });

  it('fails on a bad file with nothing else to serve, and rejects it (table kept) otherwise', () => {
    expect(startupFileStep({ file: badFile, hasTable: false, at })).toEqual({
      kind: 'fail',
      issues: [{ path: 'routes.yaml line 1, column 2', message: 'bad' }],
    });
    expect(startupFileStep({ file: badFile, hasTable: true, at })).toEqual({
      kind: 'reject',
      rejected: { at, source: 'file', actor: 'file:routes.yaml', issues: badFile.issues },
    });
  });
});

describe('reconcileFile (the command committing a routes file)', () => {
  it('keeps the plan progress in force and says so in the audit reason', () => {
    const inForce = TableSpecSchema.parse(spec('device-management', { mode: 'canary', weight: 25, plan }));
    const built = reconcileFile(spec('monolith', { plan }), 'routes file changed')(inForce, { env: {}, version: 5 });
    expect(built.reason).toBe('routes file changed; plan progress kept: get');
    expect(built.result.ok && built.result.table.spec.routes[0]).toMatchObject({
      target: 'device-management',
      weight: 25,
    });
  });

  it('takes the file as it is on the first load', () => {
    const built = reconcileFile(spec('monolith', { plan }), 'initial load')(undefined, { env: {}, version: 1 });
    expect(built.reason).toBe('initial load');
    expect(built.result.ok && built.result.table.spec.routes[0]!.target).toBe('monolith');
  });
});

describe('compileRoutesFile (served while the store is down)', () => {
  it('compiles the file as version 0; issues name the file', () => {
    const ok = compileRoutesFile(okFile, {});
    expect(ok.ok && ok.table.version).toBe(0);
    expect(compileRoutesFile(badFile, {})).toEqual({
      ok: false,
      issues: [{ path: 'routes.yaml line 1, column 2', message: 'bad' }],
    });
    const unknown = compileRoutesFile({ ...okFile, data: spec('ghost') }, {});
    expect(!unknown.ok && unknown.issues.map((i) => i.path)).toEqual(['routes.yaml routes[0].target']);
  });
});
