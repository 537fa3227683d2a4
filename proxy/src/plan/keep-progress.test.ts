import { TableSpecSchema, type RouteInput, type TableSpec } from '../table/schema';
import { keepPlanProgress } from './keep-progress';

const plan = { service: 'device-management', canary: [25, 50], dwellSeconds: 300 };

function table(...routes: RouteInput[]): TableSpec {
  return TableSpecSchema.parse({
    upstreams: [
      { name: 'monolith', url: 'http://127.0.0.1:8080' },
      { name: 'device-management', url: 'http://127.0.0.1:8091' },
    ],
    routes,
  });
}
const get = (extra: Omit<RouteInput, 'id' | 'path'> & Partial<RouteInput>): RouteInput => ({
  id: 'get',
  path: '/api/heating/:id',
  ...extra,
});
/** Where the plan moved the route: canary 25 %. */
const inForce = table(get({ target: 'device-management', mode: 'canary', weight: 25, plan }));
const fromFile = (extra: Partial<RouteInput> = {}) => table(get({ target: 'monolith', plan, ...extra }));

describe('keepPlanProgress (a routes-file change and the plans in force)', () => {
  it('keeps the step and status of a route whose plan the file leaves as it is, the rest from the file', () => {
    const { spec, kept } = keepPlanProgress(inForce, fromFile({ methods: ['GET'], notes: 'from the file' }));
    expect(kept).toEqual(['get']);
    expect(spec.routes[0]).toMatchObject({
      target: 'device-management',
      mode: 'canary',
      weight: 25,
      plan: { status: 'active' },
      methods: ['GET'],
      notes: 'from the file',
    });
  });

  it.each([
    ['done' as const, { target: 'device-management', mode: 'forward' as const }],
    ['rolled-back' as const, { target: 'monolith', mode: 'forward' as const }],
    ['paused' as const, { target: 'device-management', mode: 'shadow' as const }],
  ])('keeps a %s plan where it stands: a Helm upgrade neither restarts nor resumes it', (status, at) => {
    const { spec } = keepPlanProgress(table(get({ ...at, plan: { ...plan, status } })), fromFile());
    expect(spec.routes[0]).toMatchObject({ ...at, plan: { status } });
    expect(spec.routes[0]!.weight).toBeUndefined();
  });

  it('lets the file pause an active plan where it stands', () => {
    const { spec } = keepPlanProgress(inForce, fromFile({ plan: { ...plan, status: 'paused' } }));
    expect(spec.routes[0]).toMatchObject({ mode: 'canary', weight: 25, plan: { status: 'paused' } });
  });

  it.each([
    ['changes the plan', fromFile({ plan: { ...plan, dwellSeconds: 600 } })],
    ['removes the plan', fromFile({ plan: undefined })],
  ])('lets the file move a route when it %s', (_what, file) => {
    expect(keepPlanProgress(inForce, file)).toEqual({ spec: file, kept: [] });
  });

  it('leaves routes without a plan in force, new routes and routes already where the file says alone', () => {
    const other = get({ id: 'other', path: '/api/other', target: 'monolith' });
    expect(keepPlanProgress(table(other), fromFile())).toEqual({ spec: fromFile(), kept: [] });
    const same = table(get({ target: 'device-management', mode: 'canary', weight: 25, plan }), other);
    expect(keepPlanProgress(inForce, same)).toEqual({ spec: same, kept: [] });
  });
});
