import { ProxyError } from '../errors';
import type { ChangeMeta, RoutePatch } from './change';
import { compileTable, type CompileOptions, type CompileResult } from './compile';
import type { TableIssue } from './issues';
import type { RouteSpec, TableSpec } from './schema';

/** What a change command builds from the table in force (`undefined`: none yet): the next table, or its issues. */
export interface Built {
  result: CompileResult;
  /** {@link putRoute}: whether the route is new. */
  created?: boolean;
  /** The audit reason, when it depends on what the command found (plan progress kept by a routes file). */
  reason?: string;
}

/** A change of the table, pure: the store runs it against the newest version it knows, as often as it must. */
export type Command = (base: TableSpec | undefined, options: CompileOptions) => Built;

/** Replaces the whole table. */
export function replaceTable(spec: unknown): Command {
  return (_base, options) => ({ result: compileTable(spec, options) });
}

/** Changes fields of an existing route; a person's move of a route pauses its active plan. */
export function updateRoute(routeId: string, patch: RoutePatch, meta: ChangeMeta): Command {
  const { planStatus, ...fields } = patch;
  const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  return (base, options) => {
    const index = indexOf(base!, routeId);
    const routes = base!.routes.map((r, i) => {
      if (i !== index) return r;
      const next = { ...r, ...defined };
      if (planStatus !== undefined && r.plan) return { ...next, plan: { ...r.plan, status: planStatus } };
      return pauseOnManualChange(r, next, meta);
    });
    return { result: relativeTo(index, compileTable({ ...base, routes }, options)) };
  };
}

/** Creates or replaces one route with `body` (checked by {@link routeBody}). */
export function putRoute(routeId: string, body: object): Command {
  return (base, options) => {
    const existing = base!.routes.findIndex((r) => r.id === routeId);
    const routes: unknown[] =
      existing === -1 ? [...base!.routes, body] : base!.routes.map((r, i) => (i === existing ? body : r));
    const index = existing === -1 ? routes.length - 1 : existing;
    return { result: relativeTo(index, compileTable({ ...base, routes }, options)), created: existing === -1 };
  };
}

/** Removes a route. */
export function deleteRoute(routeId: string): Command {
  return (base, options) => {
    indexOf(base!, routeId);
    return { result: compileTable({ ...base, routes: base!.routes.filter((r) => r.id !== routeId) }, options) };
  };
}

/** The route a PUT names: its body with the URL's id, or what is wrong with it. */
export function routeBody(
  routeId: string,
  input: unknown,
): { ok: true; body: object } | { ok: false; issues: TableIssue[] } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, issues: [{ path: '(body)', message: 'must be a JSON object (a route)' }] };
  }
  const body = 'id' in input ? input : { ...input, id: routeId };
  if ((body as { id: unknown }).id !== routeId) {
    return { ok: false, issues: [{ path: 'id', message: `must equal the id in the URL ("${routeId}")` }] };
  }
  return { ok: true, body };
}

/**
 * A person's change of a route's target, mode or weight pauses the route's active plan (in the same table
 * version): the plan must never undo a manual decision. `strangler plan resume` hands the route back to it.
 */
export function pauseOnManualChange(before: RouteSpec, after: RouteSpec, meta: ChangeMeta): RouteSpec {
  if (meta.source === 'plan' || before.plan?.status !== 'active') return after;
  const moved = before.target !== after.target || before.mode !== after.mode || before.weight !== after.weight;
  return moved ? { ...after, plan: { ...before.plan, status: 'paused' } } : after;
}

function indexOf(spec: TableSpec, routeId: string): number {
  const index = spec.routes.findIndex((r) => r.id === routeId);
  if (index === -1)
    throw new ProxyError('PROXY_ERR_ROUTE_NOT_FOUND', { message: `no route "${routeId}"`, details: { routeId } });
  return index;
}

/** Issues of a one-route change name the route's own fields (`target`, not `routes[3].target`). */
function relativeTo(index: number, result: CompileResult): CompileResult {
  if (result.ok) return result;
  const prefix = `routes[${index}].`;
  return {
    ...result,
    issues: result.issues.map((i) => (i.path.startsWith(prefix) ? { ...i, path: i.path.slice(prefix.length) } : i)),
  };
}
