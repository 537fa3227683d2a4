import { compileTable, type CompiledTable } from './compile';
import { changeEntries, commitRequest, noteEntry } from './persist';
import type { TableSpecInput } from './schema';

const at = '2024-05-01T10:00:00.000Z';
const spec: TableSpecInput = {
  release: { name: 'warm-house', revision: 7 },
  upstreams: [{ name: 'monolith', url: 'http://127.0.0.1:8080' }],
  routes: [{ id: 'get', path: '/api/heating/:id', target: 'monolith' }],
};

function compiled(version: number): CompiledTable {
  const r = compileTable(spec, { env: {}, version });
  if (!r.ok) throw new Error('expected the table to compile');
  return r.table;
}

describe('what a change persists (pure)', () => {
  const changes = [{ action: 'route.retargeted' as const, routeId: 'get', from: 'a', to: 'monolith' }];

  it('audits each change at the given time and version; file changes name their Helm release', () => {
    const table = compiled(4);
    const file = changeEntries({ table, changes, at, meta: { actor: 'file:r.yaml', source: 'file', reason: 'edit' } });
    expect(file).toEqual([
      {
        at,
        version: 4,
        actor: 'file:r.yaml',
        source: 'file',
        reason: 'edit (helm release warm-house revision 7)',
        release: { name: 'warm-house', revision: 7 },
        ...changes[0],
      },
    ]);
    const admin = changeEntries({
      table,
      changes,
      at,
      meta: { actor: 'alice', source: 'admin-api', reason: 'why', evidence: { p99: 1 } },
    });
    expect(admin[0]).toEqual({
      at,
      version: 4,
      actor: 'alice',
      source: 'admin-api',
      reason: 'why',
      ...changes[0],
      evidence: { p99: 1 },
    });
  });

  it("a note names the route's target in force and the version, without changing anything", () => {
    const meta = { actor: 'plan-runner', source: 'plan' as const, reason: 'plan changed' };
    const entry = noteEntry({ action: 'plan.progress-reset', routeId: 'get', meta, table: compiled(3), at });
    expect(entry).toEqual({
      at,
      version: 3,
      ...meta,
      action: 'plan.progress-reset',
      routeId: 'get',
      from: 'monolith',
      to: 'monolith',
    });
    const none = noteEntry({ action: 'table.refused', routeId: undefined, meta, table: undefined, at });
    expect(none).toMatchObject({ version: 0, from: null, to: null });
    expect(none).not.toHaveProperty('routeId');
  });

  it('the commit request carries the reconciled file and the fence only when there are some', () => {
    const table = compiled(5);
    const meta = { actor: 'alice', source: 'admin-api' as const, reason: 'why' };
    const common = { version: 5, spec: table.spec, sourceSha256: 'abc', meta, entries: [] };
    expect(commitRequest({ ...common, reconciles: undefined, conditions: undefined })).toEqual({
      version: 5,
      spec: table.spec,
      sourceSha256: 'abc',
      ...meta,
      entries: [],
    });
    const fence = { lease: 'plan', epoch: 2, holder: 'p1' };
    expect(commitRequest({ ...common, reconciles: 'def', conditions: { fence } })).toMatchObject({
      reconciles: 'def',
      fence,
    });
  });
});
