import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '@warmhouse/shared';
import { stringify } from 'yaml';
import { RouteTableStore, type ChangeMeta } from './store';
import type { PlanInput } from './plan-schema';
import type { TableSpecInput } from './schema';

const logger = createLogger('store-test', 'silent');
const env = { MONOLITH_URL: 'http://127.0.0.1:8080', DM_URL: 'http://127.0.0.1:8091' };
const admin: ChangeMeta = { actor: 'alice', source: 'admin-api', reason: 'move turn-on' };

const base: TableSpecInput = {
  upstreams: [
    { name: 'monolith', url: '${MONOLITH_URL}' },
    { name: 'device-management', url: '${DM_URL}' },
  ],
  routes: [
    { id: 'turn-on', methods: ['POST'], path: '/api/heating/:id/turn-on', target: 'monolith' },
    { id: 'get', methods: ['GET'], path: '/api/heating/:id', target: 'monolith' },
  ],
};

describe('RouteTableStore', () => {
  let dir: string;
  let routesFile: string;
  let stateDir: string;
  const open = () => RouteTableStore.open({ routesFile, stateDir, env, logger, now: () => new Date() });

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'strangler-store-'));
    routesFile = path.join(dir, 'routes.yaml');
    stateDir = path.join(dir, 'state');
    writeFileSync(routesFile, stringify(base));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('loads the routes file, persists it and audits the initial load', async () => {
    const store = await open();
    expect(store.current.version).toBe(1);
    expect(store.current.upstreams.get('monolith')!.origin).toBe('http://127.0.0.1:8080');
    const state = JSON.parse(readFileSync(path.join(stateDir, 'route-table.json'), 'utf8'));
    expect(state.table.upstreams[0].url).toBe('${MONOLITH_URL}'); // placeholders are kept, resolved at load
    expect(await store.readAudit()).toMatchObject([{ action: 'table.loaded', source: 'startup', version: 1 }]);
  });

  it('toggles a route, audits who/when/from/to/why, and keeps the toggle across a restart', async () => {
    const store = await open();
    const before = store.current;
    const result = await store.setTarget('turn-on', 'device-management', admin);
    expect(result.ok).toBe(true);
    expect(store.current).not.toBe(before); // swapped, not mutated
    expect(before.routes.find((r) => r.id === 'turn-on')!.upstream.name).toBe('monolith');
    expect(store.current.version).toBe(2);
    expect(await store.readAudit({ routeId: 'turn-on' })).toEqual([
      expect.objectContaining({
        action: 'route.retargeted',
        actor: 'alice',
        source: 'admin-api',
        from: 'monolith',
        to: 'device-management',
        reason: 'move turn-on',
        version: 2,
        at: expect.any(String),
      }),
    ]);

    const restarted = await open();
    expect(restarted.current.version).toBe(2);
    expect(restarted.current.spec.routes.find((r) => r.id === 'turn-on')!.target).toBe('device-management');
  });

  it('file changes rendered by Helm are audited with the release revision; admin changes are not', async () => {
    const release = { name: 'warm-house', revision: 3, chart: 'warm-house-0.1.0' };
    writeFileSync(routesFile, stringify({ ...base, release }));
    const store = await open();
    expect(await store.readAudit()).toMatchObject([
      { action: 'table.loaded', release, reason: 'initial load (helm release warm-house revision 3)' },
    ]);
    // `helm upgrade` with no route change: only the revision moves, which is not a change of the table
    writeFileSync(routesFile, stringify({ ...base, release: { ...release, revision: 4 } }));
    expect(await store.reloadFile()).toMatchObject({ ok: true, entries: [] });
    // `helm upgrade --set routes.get.target=device-management`
    const moved = base.routes!.map((r) => (r.id === 'get' ? { ...r, target: 'device-management' } : r));
    writeFileSync(routesFile, stringify({ ...base, routes: moved, release: { ...release, revision: 5 } }));
    expect(await store.reloadFile()).toMatchObject({ ok: true });
    expect((await store.readAudit({ routeId: 'get' })).at(-1)).toMatchObject({
      action: 'route.retargeted',
      source: 'file',
      to: 'device-management',
      release: { name: 'warm-house', revision: 5 },
      reason: 'routes file changed (helm release warm-house revision 5)',
    });
    await store.setTarget('get', 'monolith', admin);
    const last = (await store.readAudit({ routeId: 'get' })).at(-1)!;
    expect(last).toMatchObject({ source: 'admin-api', reason: 'move turn-on' });
    expect(last.release).toBeUndefined();
  });

  it('rejects an invalid change naming the field and leaves the table untouched', async () => {
    const store = await open();
    const before = store.current;
    const r = await store.putRoute(
      'turn-on',
      { methods: ['POST'], path: '/api/heating/:id/turn-on', target: 'nowhere' },
      admin,
    );
    expect(r.ok).toBe(false);
    expect(!r.ok && r.issues).toEqual([
      { path: 'target', message: expect.stringContaining('unknown upstream "nowhere"') },
    ]);
    expect(store.current).toBe(before);
    expect(store.lastRejected).toMatchObject({ source: 'admin-api', actor: 'alice' });
    expect(await store.readAudit()).toHaveLength(1);
    await expect(store.setTarget('missing', 'monolith', admin)).rejects.toThrow(
      expect.objectContaining({ code: 'PROXY_ERR_ROUTE_NOT_FOUND' }),
    );
  });

  it('creates, updates and deletes routes with one audit entry per change', async () => {
    const store = await open();
    expect(await store.putRoute('new', { path: '/api/devices/*', target: 'device-management' }, admin)).toMatchObject({
      ok: true,
      created: true,
    });
    expect(
      await store.putRoute('new', { path: '/api/devices/*', target: 'device-management', notes: 'x' }, admin),
    ).toMatchObject({ ok: true, created: false });
    expect((await store.deleteRoute('new', admin)).ok).toBe(true);
    expect((await store.readAudit()).map((e) => e.action)).toEqual([
      'table.loaded',
      'route.created',
      'route.updated',
      'route.deleted',
    ]);
    expect(await store.setTarget('get', 'monolith', admin)).toMatchObject({ ok: true, entries: [] }); // no-op, no entry
  });

  it('reloads the file when it changes, and keeps the last good table on a bad file', async () => {
    const store = await open();
    const changed = { ...base, routes: [{ ...base.routes![0]!, target: 'device-management' }, base.routes![1]!] };
    writeFileSync(routesFile, stringify(changed));
    expect(await store.reloadFile()).toMatchObject({ ok: true });
    expect(store.current.spec.routes[0]!.target).toBe('device-management');
    expect((await store.readAudit()).at(-1)).toMatchObject({
      action: 'route.retargeted',
      source: 'file',
      from: 'monolith',
      to: 'device-management',
    });

    const good = store.current;
    writeFileSync(routesFile, 'routes: [ {id: x, path: nope, target: monolith} ]\nupstreams: []\n');
    const bad = await store.reloadFile();
    expect(bad.ok).toBe(false);
    expect(store.current).toBe(good);
    expect(store.lastRejected!.issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(['upstreams', 'routes[0].path']),
    );

    writeFileSync(routesFile, 'routes: [\n');
    expect(await store.reloadFile()).toMatchObject({
      ok: false,
      issues: [expect.objectContaining({ path: expect.stringMatching(/^line \d+/) })],
    });
    expect(store.current).toBe(good);
    expect(await store.reloadFile()).toMatchObject({ ok: false }); // still bad, still refused
  });

  it('lets a routes file edited while the proxy was stopped win over the persisted table (audited)', async () => {
    const store = await open();
    await store.setTarget('turn-on', 'device-management', admin);
    writeFileSync(routesFile, stringify({ ...base, routes: [base.routes![1]!] }));
    const restarted = await open();
    expect(restarted.current.version).toBe(3);
    expect(restarted.current.spec.routes.map((r) => r.id)).toEqual(['get']);
    expect((await restarted.readAudit()).at(-1)).toMatchObject({
      action: 'route.deleted',
      routeId: 'turn-on',
      source: 'startup',
      reason: 'routes file changed while the proxy was stopped',
    });
  });

  it('refuses to start on a bad first load, naming the file and the field', async () => {
    writeFileSync(routesFile, stringify({ ...base, routes: [{ id: 'r', path: '/x', target: 'ghost' }] }));
    await expect(open()).rejects.toThrow(/routes\.yaml routes\[0\]\.target: unknown upstream "ghost"/);
  });

  it('starts from the persisted table when the routes file became unreadable', async () => {
    await (await open()).setTarget('turn-on', 'device-management', admin);
    writeFileSync(routesFile, ':\n  - [');
    const restarted = await open();
    expect(restarted.current.spec.routes[0]!.target).toBe('device-management');
    expect(restarted.lastRejected).toMatchObject({ source: 'file' });
  });
  describe('route plans', () => {
    const withPlan: TableSpecInput = {
      ...base,
      routes: [{ ...base.routes![0]!, plan: { service: 'device-management' } }, base.routes![1]!],
    };
    beforeEach(() => writeFileSync(routesFile, stringify(withPlan)));

    it("a manual toggle pauses the active plan in the same version; the plan's own changes do not", async () => {
      const store = await open();
      const planned = await store.updateRoute(
        'turn-on',
        { mode: 'canary', weight: 5, target: 'device-management' },
        {
          actor: 'plan',
          source: 'plan',
          reason: 'plan advance',
          evidence: { step: 'monolith' },
        },
      );
      expect(planned.ok && planned.table.spec.routes[0]!.plan!.status).toBe('active');
      expect((await store.readAudit()).at(-1)).toMatchObject({
        actor: 'plan',
        source: 'plan',
        evidence: { step: 'monolith' },
      });
      const manual = await store.setTarget('turn-on', 'monolith', admin);
      expect(manual.ok && manual.table.spec.routes[0]).toMatchObject({
        target: 'monolith',
        plan: { status: 'paused' },
      });
      expect(manual.ok && manual.entries).toHaveLength(1);
      expect((await store.readAudit()).at(-1)!.evidence).toBeUndefined();
    });

    it('a change that does not move the route, or that sets the plan status itself, does not pause it', async () => {
      const store = await open();
      await store.updateRoute('turn-on', { target: 'monolith' }, admin);
      expect(store.current.spec.routes[0]!.plan!.status).toBe('active');
      await store.updateRoute('turn-on', { mode: 'shadow', target: 'device-management', planStatus: 'active' }, admin);
      expect(store.current.spec.routes[0]).toMatchObject({ mode: 'shadow', plan: { status: 'active' } });
    });

    const planStep: ChangeMeta = { actor: 'plan', source: 'plan', reason: 'plan advance' };
    const turnOn = (store: RouteTableStore) => store.current.spec.routes.find((r) => r.id === 'turn-on')!;
    /** The routes file with one more route: a change that leaves turn-on's plan as it is. */
    const withAnotherRoute = (plan: PlanInput = { service: 'device-management' }): TableSpecInput => ({
      ...withPlan,
      routes: [
        { ...base.routes![0]!, plan },
        base.routes![1]!,
        { id: 'new', methods: ['GET'], path: '/api/new', target: 'monolith' },
      ],
    });

    it("a routes-file change that leaves a route's plan as it is keeps the plan's progress (audited)", async () => {
      const store = await open();
      await store.updateRoute('turn-on', { target: 'device-management', mode: 'canary', weight: 25 }, planStep);
      writeFileSync(routesFile, stringify(withAnotherRoute()));
      expect(await store.reloadFile()).toMatchObject({ ok: true });
      expect(turnOn(store)).toMatchObject({ target: 'device-management', mode: 'canary', weight: 25 });
      expect(store.current.spec.routes.map((r) => r.id)).toEqual(['turn-on', 'get', 'new']);
      expect((await store.readAudit()).at(-1)).toMatchObject({
        action: 'route.created',
        routeId: 'new',
        reason: 'routes file changed; plan progress kept: turn-on',
      });
    });

    it('keeps plan progress across a restart with a routes file changed meanwhile, unless the plan changed', async () => {
      const store = await open();
      await store.updateRoute('turn-on', { target: 'device-management', mode: 'canary', weight: 25 }, planStep);
      writeFileSync(routesFile, stringify(withAnotherRoute()));
      const restarted = await open();
      expect(turnOn(restarted)).toMatchObject({ target: 'device-management', mode: 'canary', weight: 25 });
      expect((await restarted.readAudit()).at(-1)!.reason).toBe(
        'routes file changed while the proxy was stopped; plan progress kept: turn-on',
      );

      writeFileSync(routesFile, stringify(withAnotherRoute({ service: 'device-management', dwellSeconds: 60 })));
      const again = await open();
      expect(turnOn(again)).toMatchObject({ target: 'monolith', mode: 'forward', plan: { dwellSeconds: 60 } });
      expect(turnOn(again).weight).toBeUndefined();
    });

    it('refuses a plan whose service is unknown or is the monolith itself', async () => {
      const store = await open();
      const r1 = await store.putRoute('get', { ...base.routes![1], plan: { service: 'nope' } }, admin);
      expect(!r1.ok && r1.issues).toEqual([
        { path: 'plan.service', message: expect.stringMatching(/unknown upstream "nope"/) },
      ]);
      const r2 = await store.putRoute('get', { ...base.routes![1], plan: { service: 'monolith' } }, admin);
      expect(!r2.ok && r2.issues).toEqual([
        { path: 'plan.service', message: 'must differ from the plan\'s monolith ("monolith")' },
      ]);
    });
  });
});
