import {
  compilePattern,
  comparePatterns,
  PatternError,
  samePatternShape,
  type CompiledPattern,
} from '../../routing/pattern';
import { unknownUpstream, type TableIssue } from '../issues';
import type { RouteSpec } from '../schema';
import type { CompiledAuth } from './auth';
import type { CompiledCanary } from './canary';
import type { CompiledCdc } from './cdc';
import type { RouteContext } from './context';
import type { CompiledFallback } from './fallback';
import type { Part } from './part';
import type { CompiledShadow } from './shadow';
import type { CompiledUpstream } from './upstream';

/** A route ready for matching; `index` is its position in the table (last tie-break). */
export interface CompiledRoute {
  readonly spec: RouteSpec;
  readonly id: string;
  readonly index: number;
  readonly pattern: CompiledPattern;
  /** `null` claims every method. */
  readonly methods: ReadonlySet<string> | null;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly upstream: CompiledUpstream;
  /** Set when the route is in mode `canary`. */
  readonly canary: CompiledCanary | undefined;
  /** Set when the route declares a fallback. */
  readonly fallback: CompiledFallback | undefined;
  /** Set when the route is in mode `shadow`. */
  readonly shadow: CompiledShadow | undefined;
  /** Set when the route declares `cdc` (CDC-aware reads, read-your-writes pins). */
  readonly cdc?: CompiledCdc;
  /** Set when the route declares `auth` (bearer tokens verified at the proxy). */
  readonly auth?: CompiledAuth;
}

/** What a request is matched on, and where it goes; `pattern` and `upstream` are unset when they do not compile. */
export interface RouteMatch {
  readonly pattern: CompiledPattern | undefined;
  readonly methods: ReadonlySet<string> | null;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly upstream: CompiledUpstream | undefined;
}

function compilePath(r: RouteSpec, at: string): { pattern?: CompiledPattern; issue?: TableIssue } {
  try {
    return { pattern: compilePattern(r.path) };
  } catch (err) {
    if (!(err instanceof PatternError)) throw err;
    return { issue: { path: `${at}.path`, message: err.message } };
  }
}

/** Header conditions, names lowercased, sorted by name. */
function headerConditions(r: RouteSpec): ReadonlyArray<readonly [string, string]> {
  return Object.entries(r.headers ?? {})
    .map(([n, v]) => [n.toLowerCase(), v] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Compiles what a route is matched on (path, methods, headers) and resolves its target. */
export function compileMatch(
  r: RouteSpec,
  ctx: Omit<RouteContext, 'pattern'>,
): Part<RouteMatch> & { value: RouteMatch } {
  const { at } = ctx;
  const issues: TableIssue[] = [];
  if (ctx.checkTargets && !ctx.known.has(r.target)) issues.push(unknownUpstream(`${at}.target`, r.target, ctx.known));
  if (r.methods.includes('*') && r.methods.length > 1) {
    issues.push({ path: `${at}.methods`, message: '"*" must be the only method' });
  }
  const { pattern, issue } = compilePath(r, at);
  if (issue) issues.push(issue);
  const value: RouteMatch = {
    pattern,
    methods: r.methods.includes('*') ? null : new Set<string>(r.methods),
    headers: headerConditions(r),
    upstream: ctx.upstreams.get(r.target),
  };
  return { value, issues };
}

function methodsOverlap(a: ReadonlySet<string> | null, b: ReadonlySet<string> | null): boolean {
  if (a === null || b === null) return a === b;
  for (const m of a) if (b.has(m)) return true;
  return false;
}

function sameHeaders(a: CompiledRoute['headers'], b: CompiledRoute['headers']): boolean {
  return a.length === b.length && a.every(([n, v], i) => b[i]![0] === n && b[i]![1] === v);
}

/** Whether two routes claim the same requests: same path shape and headers, a method in common. */
export function routesConflict(a: CompiledRoute, b: CompiledRoute): boolean {
  return (
    samePatternShape(a.pattern, b.pattern) && sameHeaders(a.headers, b.headers) && methodsOverlap(a.methods, b.methods)
  );
}

/** A route claiming GET also claims HEAD (as Spring MVC and Express do), unless a sibling claims HEAD itself. */
export function withImplicitHead(routes: readonly CompiledRoute[]): CompiledRoute[] {
  return routes.map((r) => {
    if (r.methods === null || !r.methods.has('GET') || r.methods.has('HEAD')) return r;
    const headTaken = routes.some(
      (o) =>
        o !== r &&
        o.methods?.has('HEAD') &&
        samePatternShape(o.pattern, r.pattern) &&
        sameHeaders(o.headers, r.headers),
    );
    return headTaken ? r : { ...r, methods: new Set([...r.methods, 'HEAD']) };
  });
}

/**
 * Orders routes for matching (most specific first): path pattern specificity, then routes with an explicit
 * method list before `*`, then more header conditions, then table order.
 */
export function compareRoutes(a: CompiledRoute, b: CompiledRoute): number {
  return (
    comparePatterns(a.pattern, b.pattern) ||
    Number(a.methods === null) - Number(b.methods === null) ||
    b.headers.length - a.headers.length ||
    a.index - b.index
  );
}
