import type { RouteSpec, TableSpec } from '../table/schema';
import { planHash } from './progress';

/** The route as the file has it, but at the step and plan status of the route in force. */
function atStepOf(inForce: RouteSpec, fromFile: RouteSpec): RouteSpec {
  const { weight: _fileWeight, ...rest } = fromFile;
  // a file can pause an active plan (pausing is always safe); every other status is the plan's own progress
  const status =
    fromFile.plan!.status === 'paused' && inForce.plan!.status === 'active' ? 'paused' : inForce.plan!.status;
  return {
    ...rest,
    target: inForce.target,
    mode: inForce.mode,
    ...(inForce.weight === undefined ? {} : { weight: inForce.weight }),
    plan: { ...fromFile.plan!, status },
  };
}

/**
 * A routes-file (Helm) change keeps the plan progress of every route whose plan definition it leaves as it is
 * ({@link planHash}: everything but the status): the route keeps the target, mode, weight and plan status in
 * force, and takes everything else from the file. The file still moves a route whose plan it changes, adds or
 * removes. Pure; `kept` names the routes whose progress differed from the file and was kept.
 */
export function keepPlanProgress(inForce: TableSpec, fromFile: TableSpec): { spec: TableSpec; kept: string[] } {
  const current = new Map(inForce.routes.map((r) => [r.id, r]));
  const kept: string[] = [];
  const routes = fromFile.routes.map((route) => {
    const before = current.get(route.id);
    if (!route.plan || !before?.plan || planHash(before.plan) !== planHash(route.plan)) return route;
    const merged = atStepOf(before, route);
    const same =
      merged.target === route.target &&
      merged.mode === route.mode &&
      merged.weight === route.weight &&
      merged.plan!.status === route.plan.status;
    if (same) return route;
    kept.push(route.id);
    return merged;
  });
  return kept.length === 0 ? { spec: fromFile, kept } : { spec: { ...fromFile, routes }, kept };
}
