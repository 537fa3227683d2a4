import { planMonolith } from '../../plan/evaluate';
import { unknownUpstream, type TableIssue } from '../issues';
import type { RouteSpec } from '../schema';
import type { RouteContext } from './context';

/** Table-level checks of a route's plan: its service is a known upstream and not the plan's monolith. */
export function checkPlan(route: RouteSpec, ctx: RouteContext): readonly TableIssue[] {
  const plan = route.plan;
  if (!plan || !ctx.checkTargets) return [];
  const at = `${ctx.at}.plan.service`;
  if (!ctx.known.has(plan.service)) return [unknownUpstream(at, plan.service, ctx.known)];
  const monolith = planMonolith(route, ctx.defaultTarget);
  if (plan.service === monolith) return [{ path: at, message: `must differ from the plan's monolith ("${monolith}")` }];
  return [];
}
