import { compileAuth } from './compile/auth';
import { compileCanary } from './compile/canary';
import { compileCdc } from './compile/cdc';
import type { RouteContext } from './compile/context';
import { compileFallback } from './compile/fallback';
import type { Part } from './compile/part';
import { checkPlan } from './compile/plan';
import { compareRoutes, compileMatch, routesConflict, withImplicitHead, type CompiledRoute } from './compile/route';
import { compileShadow } from './compile/shadow';
import { compileUpstream, type CompiledUpstream } from './compile/upstream';
import { unknownUpstream, zodIssues, type TableIssue } from './issues';
import {
  RouteSchema,
  TableSpecSchema,
  UpstreamSchema,
  type RouteSpec,
  type TableSpec,
  type UpstreamSpec,
} from './schema';

export type { CompiledCanary } from './compile/canary';
export type { CompiledCdc } from './compile/cdc';
export type { CompiledFallback } from './compile/fallback';
export { compareRoutes, type CompiledRoute } from './compile/route';
export type { CompiledShadow } from './compile/shadow';
export { interpolate, type CompiledUpstream } from './compile/upstream';
export { formatPath, zodIssues, type TableIssue } from './issues';

/** An immutable, validated table; `routes` is sorted most specific first. */
export interface CompiledTable {
  readonly version: number;
  readonly spec: TableSpec;
  readonly routes: readonly CompiledRoute[];
  /** `routes` that can match a path of n segments, at index n (same order); longer paths use `longPaths`. */
  readonly byLength: ReadonlyArray<readonly CompiledRoute[]>;
  readonly longPaths: readonly CompiledRoute[];
  readonly upstreams: ReadonlyMap<string, CompiledUpstream>;
  readonly defaultUpstream: CompiledUpstream;
}

/** Result of {@link compileTable}: the table, or every issue at once. */
export type CompileResult = { ok: true; table: CompiledTable } | { ok: false; issues: TableIssue[] };

/** Options of {@link compileTable}. */
export interface CompileOptions {
  /** Resolves `${VAR}` placeholders in upstream URLs. */
  env: NodeJS.ProcessEnv;
  /** Version of the compiled table. */
  version: number;
}

/** What {@link build} compiles: the parts of a table that passed the schema, with their positions in it. */
interface BuildInput {
  spec: TableSpec;
  upstreams: ReadonlyArray<readonly [number, UpstreamSpec]>;
  routes: ReadonlyArray<readonly [number, RouteSpec]>;
  /** Names of upstreams that failed the schema: references to them are not reported as unknown. */
  extraUpstreamNames: readonly string[];
  /** Whether targets are checked (not when the table's upstream list is not even a list). */
  checkTargets: boolean;
}

/**
 * Validates a table (schema, then references, patterns, duplicates and shadowed routes), resolves
 * environment placeholders, and returns an immutable compiled table, or every issue at once: a table is
 * accepted or rejected whole, never with single routes dropped.
 */
export function compileTable(input: unknown, options: CompileOptions): CompileResult {
  const parsed = TableSpecSchema.safeParse(input);
  if (parsed.success) {
    const { data } = parsed;
    const whole = { upstreams: indexed(data.upstreams), routes: indexed(data.routes) };
    return build({ spec: data, ...whole, extraUpstreamNames: [], checkTargets: true }, options);
  }
  // Schema errors: still check what is valid on its own, so that every issue is reported at once.
  const issues = zodIssues(parsed.error);
  const seen = new Set(issues.map((i) => i.path));
  const raw = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const result = build(validParts(raw), options);
  if (!result.ok) for (const i of result.issues) if (!seen.has(i.path)) issues.push(i);
  issues.push(...unknownTargetsOfInvalidRoutes(raw, seen));
  return { ok: false, issues };
}

function indexed<T>(items: readonly T[]): Array<readonly [number, T]> {
  return items.map((item, i) => [i, item] as const);
}

/** Items of a list that pass `schema` on their own, with their positions. */
function validItems<T>(items: unknown, schema: { safeParse(x: unknown): { success: boolean; data?: T } }) {
  return (Array.isArray(items) ? items : []).flatMap((item: unknown, i) => {
    const r = schema.safeParse(item);
    return r.success ? [[i, r.data as T] as const] : [];
  });
}

/** Upstream names in a raw table, valid upstreams or not. */
function rawUpstreamNames(raw: Record<string, unknown>): string[] {
  return (Array.isArray(raw.upstreams) ? raw.upstreams : [])
    .map((u: unknown) => (typeof u === 'object' && u !== null ? (u as { name?: unknown }).name : undefined))
    .filter((n): n is string => typeof n === 'string');
}

/** The parts of a table that failed the schema which are valid on their own. */
function validParts(raw: Record<string, unknown>): BuildInput {
  return {
    spec: {
      defaultTarget: typeof raw.defaultTarget === 'string' ? raw.defaultTarget : 'monolith',
      upstreams: [],
      routes: [],
    },
    upstreams: validItems<UpstreamSpec>(raw.upstreams, UpstreamSchema),
    routes: validItems<RouteSpec>(raw.routes, RouteSchema),
    extraUpstreamNames: rawUpstreamNames(raw),
    checkTargets: Array.isArray(raw.upstreams),
  };
}

/** Routes that failed the schema: still say when their target names no upstream. */
function unknownTargetsOfInvalidRoutes(raw: Record<string, unknown>, seen: ReadonlySet<string>): TableIssue[] {
  if (!Array.isArray(raw.upstreams) || !Array.isArray(raw.routes)) return [];
  const names = rawUpstreamNames(raw);
  const valid = new Set(validItems<RouteSpec>(raw.routes, RouteSchema).map(([i]) => i));
  return raw.routes.flatMap((r: unknown, i) => {
    const target = typeof r === 'object' && r !== null ? (r as { target?: unknown }).target : undefined;
    const at = `routes[${i}].target`;
    if (valid.has(i) || typeof target !== 'string' || names.includes(target) || seen.has(at)) return [];
    return [unknownUpstream(at, target, names)];
  });
}

/** Compiles the upstreams; `known` holds every declared name, those that did not compile included. */
function compileUpstreams(input: BuildInput, env: NodeJS.ProcessEnv) {
  const issues: TableIssue[] = [];
  const upstreams = new Map<string, CompiledUpstream>();
  const known = new Set<string>();
  for (const [i, u] of input.upstreams) {
    if (known.has(u.name)) issues.push({ path: `upstreams[${i}].name`, message: `duplicate upstream "${u.name}"` });
    known.add(u.name);
    const compiled = compileUpstream(u, { at: `upstreams[${i}]`, env });
    issues.push(...compiled.issues);
    if (compiled.value) upstreams.set(u.name, compiled.value);
  }
  for (const n of input.extraUpstreamNames) known.add(n);
  return { upstreams, known, issues };
}

/** Compiles a route and each of its features; issues in the order of the route's fields. */
function compileRoute(r: RouteSpec, index: number, base: Omit<RouteContext, 'pattern'>): Part<CompiledRoute> {
  const match = compileMatch(r, base);
  const { pattern, upstream, methods, headers } = match.value;
  const ctx: RouteContext = { ...base, pattern };
  const canary = compileCanary(r, ctx);
  const fallback = compileFallback(r, ctx);
  const shadow = compileShadow(r, ctx);
  const plan = checkPlan(r, ctx);
  const cdc = compileCdc(r, ctx);
  const issues = [match, canary, fallback, shadow, { issues: plan }, cdc].flatMap((p) => p.issues);
  if (!pattern || !upstream) return { value: undefined, issues };
  const value: CompiledRoute = {
    spec: r,
    id: r.id,
    index,
    pattern,
    methods,
    headers,
    upstream,
    canary: canary.value,
    fallback: fallback.value,
    shadow: shadow.value,
    cdc: cdc.value,
    auth: compileAuth(r),
  };
  return { value, issues };
}

/** Compiles the routes in table order; duplicate ids and conflicting routes are issues. */
function compileRoutes(input: BuildInput, table: Omit<RouteContext, 'pattern' | 'at'>) {
  const issues: TableIssue[] = [];
  const routes: CompiledRoute[] = [];
  const ids = new Set<string>();
  for (const [i, r] of input.routes) {
    const at = `routes[${i}]`;
    if (ids.has(r.id)) issues.push({ path: `${at}.id`, message: `duplicate route id "${r.id}"` });
    ids.add(r.id);
    const route = compileRoute(r, i, { ...table, at });
    issues.push(...route.issues);
    if (!route.value) continue;
    const sibling = routes.find((o) => routesConflict(o, route.value!));
    if (sibling) {
      issues.push({
        path: `${at}.methods`,
        message: `route "${r.id}" conflicts with "${sibling.id}" (routes[${sibling.index}]): same path shape, headers and methods`,
      });
    }
    routes.push(route.value);
  }
  return { routes, issues };
}

/** Routes by the number of path segments they can match (see {@link CompiledTable.byLength}). */
function indexByLength(sorted: readonly CompiledRoute[]): Pick<CompiledTable, 'byLength' | 'longPaths'> {
  const fixedLength = (r: CompiledRoute) => r.pattern.segments.filter((x) => x.kind !== 'wildcard').length;
  const hasWildcard = (r: CompiledRoute) => r.pattern.segments.some((x) => x.kind === 'wildcard');
  const longest = Math.max(0, ...sorted.map(fixedLength));
  const byLength = Array.from({ length: longest + 1 }, (_, n) =>
    Object.freeze(sorted.filter((r) => (hasWildcard(r) ? fixedLength(r) <= n : fixedLength(r) === n))),
  );
  return { byLength: Object.freeze(byLength), longPaths: Object.freeze(sorted.filter(hasWildcard)) };
}

function build(input: BuildInput, options: CompileOptions): CompileResult {
  const { spec, checkTargets } = input;
  const { upstreams, known, issues } = compileUpstreams(input, options.env);
  if (checkTargets && !known.has(spec.defaultTarget)) {
    issues.push({ path: 'defaultTarget', message: `unknown upstream "${spec.defaultTarget}"` });
  }
  const compiled = compileRoutes(input, { defaultTarget: spec.defaultTarget, upstreams, known, checkTargets });
  issues.push(...compiled.issues);
  if (issues.length > 0) return { ok: false, issues };
  const routes = withImplicitHead(compiled.routes).sort(compareRoutes);
  const table: CompiledTable = {
    version: options.version,
    spec,
    routes: Object.freeze(routes),
    ...indexByLength(routes),
    upstreams,
    defaultUpstream: upstreams.get(spec.defaultTarget)!,
  };
  return { ok: true, table: Object.freeze(table) };
}
