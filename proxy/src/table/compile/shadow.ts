import { compileIgnore, splitPath } from '../../shadow/compare';
import { unknownUpstream, type TableIssue } from '../issues';
import { ShadowSchema, type RouteSpec, type ShadowSpec } from '../schema';
import type { RouteContext } from './context';
import { NONE, type Part } from './part';
import type { CompiledUpstream } from './upstream';

/** Shadow settings of a route in mode `shadow`, resolved against the table. */
export interface CompiledShadow {
  /** Answers the client. */
  readonly baseline: CompiledUpstream;
  readonly spec: ShadowSpec;
  /** Whether a JSON path (segments) is ignored. */
  readonly ignored: (path: readonly string[]) => boolean;
}

/** Issues of the shadow's `ignore` paths that do not parse. */
function ignoreIssues(ignore: readonly string[], at: string): TableIssue[] {
  return ignore.flatMap((p, j) => {
    try {
      splitPath(p);
      return [];
    } catch (err) {
      return [{ path: `${at}.shadow.ignore[${j}]`, message: (err as Error).message }];
    }
  });
}

/** Resolves the shadow of a route in mode `shadow` (baseline upstream, ignored JSON paths). */
export function compileShadow(r: RouteSpec, ctx: RouteContext): Part<CompiledShadow> {
  if (r.mode !== 'shadow') return NONE;
  const { at } = ctx;
  const spec = r.shadow ?? ShadowSchema.parse({});
  const name = spec.baseline ?? ctx.defaultTarget;
  const issues: TableIssue[] = [];
  if (spec.baseline !== undefined && !ctx.known.has(name)) {
    issues.push(unknownUpstream(`${at}.shadow.baseline`, name, ctx.known));
  }
  if (name === r.target) {
    issues.push({ path: `${at}.target`, message: `a shadow route's target must differ from its baseline ("${name}")` });
  }
  const badIgnore = ignoreIssues(spec.ignore, at);
  issues.push(...badIgnore);
  const baseline = ctx.upstreams.get(name);
  if (!baseline || badIgnore.length > 0) return { value: undefined, issues };
  return { value: { baseline, spec, ignored: compileIgnore(spec.ignore) }, issues };
}
