import type { TableIssue } from '../table/compile';
import type { RouteSpec } from '../table/schema';
import { planMonolith } from './evaluate';

/** Table-level checks of a route's plan: its service is a known upstream and not the plan's monolith. */
export function planIssues(
  route: RouteSpec,
  at: string,
  defaultTarget: string,
  known: ReadonlySet<string>,
): TableIssue[] {
  const plan = route.plan;
  if (!plan) return [];
  if (!known.has(plan.service))
    return [
      { path: `${at}.plan.service`, message: `unknown upstream "${plan.service}" (known: ${[...known].join(', ')})` },
    ];
  const monolith = planMonolith(route, defaultTarget);
  if (plan.service === monolith)
    return [{ path: `${at}.plan.service`, message: `must differ from the plan's monolith ("${monolith}")` }];
  return [];
}
