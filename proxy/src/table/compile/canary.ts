import { unknownUpstream, type TableIssue } from '../issues';
import type { RouteSpec } from '../schema';
import { paramIndexOf, type RouteContext } from './context';
import { NONE, type Part } from './part';
import type { CompiledUpstream } from './upstream';

/** Canary settings of a route in mode `canary`, resolved against the table. */
export interface CompiledCanary {
  /** Keys whose bucket (0–9999) is below this go to the route's upstream: `weight × 100`. */
  readonly threshold: number;
  readonly baseline: CompiledUpstream;
  /** Lowercased header name holding the key. */
  readonly header: string | undefined;
  /** Index of the path segment holding the key (the route's `key.param`). */
  readonly paramIndex: number | undefined;
  readonly allowOverride: boolean;
}

/** Resolves the canary of a route in mode `canary` (weight, baseline upstream, key position). */
export function compileCanary(r: RouteSpec, ctx: RouteContext): Part<CompiledCanary> {
  if (r.mode !== 'canary' || !ctx.pattern) return NONE;
  const { at } = ctx;
  const issues: TableIssue[] = [];
  if (r.weight === undefined) issues.push({ path: `${at}.weight`, message: 'mode "canary" needs a weight (0–100)' });
  const name = r.canary?.baseline ?? ctx.defaultTarget;
  if (r.canary?.baseline !== undefined && !ctx.known.has(name)) {
    issues.push(unknownUpstream(`${at}.canary.baseline`, name, ctx.known));
  }
  const param = r.canary?.key.param;
  const paramIndex = paramIndexOf(ctx.pattern, param);
  if (paramIndex === -1) {
    issues.push({ path: `${at}.canary.key.param`, message: `no parameter ":${param}" in path "${r.path}"` });
  }
  const baseline = ctx.upstreams.get(name);
  if (r.weight === undefined || !baseline || paramIndex === -1) return { value: undefined, issues };
  const value: CompiledCanary = {
    threshold: r.weight * 100,
    baseline,
    header: r.canary?.key.header?.toLowerCase(),
    paramIndex,
    allowOverride: r.canary?.allowOverride ?? false,
  };
  return { value, issues };
}
