import type { z } from 'zod';
import { DEFAULT_BREAKER, type BreakerSettings } from '../forward/breaker';
import {
  compilePattern,
  comparePatterns,
  PatternError,
  samePatternShape,
  type CompiledPattern,
} from '../routing/pattern';
import { planIssues } from '../plan/check';
import { compileIgnore, splitPath } from '../shadow/compare';
import { compileCdc, type CompiledCdc } from './compile-cdc';
import {
  RouteSchema,
  ShadowSchema,
  TableSpecSchema,
  UpstreamSchema,
  type RouteSpec,
  type ShadowSpec,
  type TableSpec,
  type Timeouts,
  type UpstreamSpec,
} from './schema';

/** One problem found in a table: `path` is the field (`routes[2].target`), `message` says what is wrong. */
export interface TableIssue {
  readonly path: string;
  readonly message: string;
}

/** An upstream ready for forwarding. */
export interface CompiledUpstream {
  readonly name: string;
  /** `scheme://host:port`, the key of the connection pool. */
  readonly origin: string;
  /** Value of the Host header sent upstream. */
  readonly host: string;
  readonly timeouts: Timeouts;
  readonly maxConnections: number;
  readonly maxBodyBytes: number | undefined;
  readonly breaker: BreakerSettings;
}

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
}

/** Shadow settings of a route in mode `shadow`, resolved against the table. */
export interface CompiledShadow {
  /** Answers the client. */
  readonly baseline: CompiledUpstream;
  readonly spec: ShadowSpec;
  /** Whether a JSON path (segments) is ignored. */
  readonly ignored: (path: readonly string[]) => boolean;
}

/** Where safe requests of a route go when its upstream fails, and which statuses count as failures. */
export interface CompiledFallback {
  readonly upstream: CompiledUpstream;
  /** Statuses that count as failures besides 5xx. */
  readonly statuses: ReadonlySet<number>;
}

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

/** Formats a zod/issue path as `routes[2].target`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out || '(root)';
}

/** Zod issues as table issues. */
export function zodIssues(error: z.ZodError, prefix: ReadonlyArray<PropertyKey> = []): TableIssue[] {
  return error.issues.map((i) => ({ path: formatPath([...prefix, ...i.path]), message: i.message }));
}

const PLACEHOLDER = /\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces `${VAR}` and `${VAR:-default}` from `env`; unset variables without a default are reported. */
export function interpolate(value: string, env: NodeJS.ProcessEnv): { value: string; missing: string[] } {
  const missing: string[] = [];
  const out = value.replace(PLACEHOLDER, (_m, name: string, fallback: string | undefined) => {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    if (fallback !== undefined) return fallback;
    missing.push(name);
    return '';
  });
  return { value: out, missing };
}

function compileUpstream(
  u: UpstreamSpec,
  path: string,
  env: NodeJS.ProcessEnv,
  issues: TableIssue[],
): CompiledUpstream | undefined {
  const { value, missing } = interpolate(u.url, env);
  if (missing.length > 0) {
    issues.push({ path: `${path}.url`, message: `environment variable ${missing.join(', ')} is not set` });
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    issues.push({ path: `${path}.url`, message: `not a valid URL: ${JSON.stringify(value)}` });
    return undefined;
  }
  const problem =
    url.protocol !== 'http:' && url.protocol !== 'https:'
      ? 'must be http:// or https://'
      : url.username || url.password
        ? 'must not contain credentials'
        : url.pathname !== '/' || url.search || url.hash
          ? 'must be a base URL without path, query or fragment'
          : undefined;
  if (problem) {
    issues.push({ path: `${path}.url`, message: `${problem} (got ${JSON.stringify(value)})` });
    return undefined;
  }
  return {
    name: u.name,
    origin: url.origin,
    host: url.host,
    timeouts: u.timeouts,
    maxConnections: u.maxConnections,
    maxBodyBytes: u.maxBodyBytes,
    breaker: Object.freeze({ ...DEFAULT_BREAKER, ...u.breaker }),
  };
}

function methodsOverlap(a: ReadonlySet<string> | null, b: ReadonlySet<string> | null): boolean {
  if (a === null || b === null) return a === b;
  for (const m of a) if (b.has(m)) return true;
  return false;
}

function sameHeaders(a: CompiledRoute['headers'], b: CompiledRoute['headers']): boolean {
  return a.length === b.length && a.every(([n, v], i) => b[i]![0] === n && b[i]![1] === v);
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

/**
 * Validates a table (schema, then references, patterns, duplicates and shadowed routes), resolves
 * environment placeholders, and returns an immutable compiled table, or every issue at once: a table is
 * accepted or rejected whole, never with single routes dropped.
 */
export function compileTable(input: unknown, options: { env: NodeJS.ProcessEnv; version: number }): CompileResult {
  const parsed = TableSpecSchema.safeParse(input);
  if (parsed.success)
    return build(parsed.data, indexed(parsed.data.upstreams), indexed(parsed.data.routes), [], options);
  // Schema errors: still check what is valid on its own, so that every issue is reported at once.
  const raw = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const partial = (items: unknown, schema: typeof UpstreamSchema | typeof RouteSchema) =>
    (Array.isArray(items) ? items : []).flatMap((item: unknown, i) => {
      const r = schema.safeParse(item);
      return r.success ? [[i, r.data] as const] : [];
    });
  const names = (Array.isArray(raw.upstreams) ? raw.upstreams : [])
    .map((u: unknown) => (typeof u === 'object' && u !== null ? (u as { name?: unknown }).name : undefined))
    .filter((n): n is string => typeof n === 'string');
  const spec = {
    defaultTarget: typeof raw.defaultTarget === 'string' ? raw.defaultTarget : 'monolith',
    upstreams: [],
    routes: [],
  };
  const routeEntries = partial(raw.routes, RouteSchema) as Array<readonly [number, RouteSpec]>;
  const result = build(
    spec,
    partial(raw.upstreams, UpstreamSchema) as Array<readonly [number, UpstreamSpec]>,
    routeEntries,
    names,
    options,
    Array.isArray(raw.upstreams),
  );
  const issues = zodIssues(parsed.error);
  const seen = new Set(issues.map((i) => i.path));
  if (!result.ok) for (const i of result.issues) if (!seen.has(i.path)) issues.push(i);
  // Routes that failed the schema: still say when their target names no upstream.
  if (Array.isArray(raw.upstreams) && Array.isArray(raw.routes)) {
    const valid = new Set(routeEntries.map(([i]) => i));
    raw.routes.forEach((r: unknown, i) => {
      const target = typeof r === 'object' && r !== null ? (r as { target?: unknown }).target : undefined;
      const at = `routes[${i}].target`;
      if (!valid.has(i) && typeof target === 'string' && !names.includes(target) && !seen.has(at)) {
        issues.push({ path: at, message: `unknown upstream "${target}" (known: ${names.join(', ')})` });
      }
    });
  }
  return { ok: false, issues };
}

function compileCanary(
  r: RouteSpec,
  at: string,
  pattern: CompiledPattern,
  defaultTarget: string,
  upstreams: ReadonlyMap<string, CompiledUpstream>,
  known: ReadonlySet<string>,
  issues: TableIssue[],
): CompiledCanary | undefined {
  if (r.mode !== 'canary') return undefined;
  if (r.weight === undefined) issues.push({ path: `${at}.weight`, message: 'mode "canary" needs a weight (0–100)' });
  const name = r.canary?.baseline ?? defaultTarget;
  if (r.canary?.baseline !== undefined && !known.has(name)) {
    issues.push({
      path: `${at}.canary.baseline`,
      message: `unknown upstream "${name}" (known: ${[...known].join(', ')})`,
    });
  }
  const param = r.canary?.key.param;
  const paramIndex =
    param === undefined ? undefined : pattern.segments.findIndex((s) => s.kind === 'param' && s.name === param);
  if (paramIndex === -1) {
    issues.push({ path: `${at}.canary.key.param`, message: `no parameter ":${param}" in path "${r.path}"` });
  }
  const baseline = upstreams.get(name);
  if (r.weight === undefined || !baseline || paramIndex === -1) return undefined;
  return {
    threshold: r.weight * 100,
    baseline,
    header: r.canary?.key.header?.toLowerCase(),
    paramIndex,
    allowOverride: r.canary?.allowOverride ?? false,
  };
}

function compileShadow(
  r: RouteSpec,
  at: string,
  defaultTarget: string,
  upstreams: ReadonlyMap<string, CompiledUpstream>,
  known: ReadonlySet<string>,
  issues: TableIssue[],
): CompiledShadow | undefined {
  if (r.mode !== 'shadow') return undefined;
  const spec = r.shadow ?? ShadowSchema.parse({});
  const name = spec.baseline ?? defaultTarget;
  if (spec.baseline !== undefined && !known.has(name)) {
    issues.push({
      path: `${at}.shadow.baseline`,
      message: `unknown upstream "${name}" (known: ${[...known].join(', ')})`,
    });
  }
  if (name === r.target) {
    issues.push({ path: `${at}.target`, message: `a shadow route's target must differ from its baseline ("${name}")` });
  }
  let bad = false;
  spec.ignore.forEach((p, j) => {
    try {
      splitPath(p);
    } catch (err) {
      bad = true;
      issues.push({ path: `${at}.shadow.ignore[${j}]`, message: (err as Error).message });
    }
  });
  const baseline = upstreams.get(name);
  if (!baseline || bad) return undefined;
  return { baseline, spec, ignored: compileIgnore(spec.ignore) };
}

function indexed<T>(items: readonly T[]): Array<readonly [number, T]> {
  return items.map((item, i) => [i, item] as const);
}

function build(
  spec: TableSpec,
  upstreamEntries: ReadonlyArray<readonly [number, UpstreamSpec]>,
  routeEntries: ReadonlyArray<readonly [number, RouteSpec]>,
  extraUpstreamNames: readonly string[],
  options: { env: NodeJS.ProcessEnv; version: number },
  checkTargets = true,
): CompileResult {
  const issues: TableIssue[] = [];
  const upstreams = new Map<string, CompiledUpstream>();
  const seenUpstreams = new Set<string>();
  for (const [i, u] of upstreamEntries) {
    if (seenUpstreams.has(u.name))
      issues.push({ path: `upstreams[${i}].name`, message: `duplicate upstream "${u.name}"` });
    seenUpstreams.add(u.name);
    const compiled = compileUpstream(u, `upstreams[${i}]`, options.env, issues);
    if (compiled) upstreams.set(u.name, compiled);
  }
  for (const n of extraUpstreamNames) seenUpstreams.add(n);
  if (checkTargets && !seenUpstreams.has(spec.defaultTarget)) {
    issues.push({ path: 'defaultTarget', message: `unknown upstream "${spec.defaultTarget}"` });
  }

  const routes: CompiledRoute[] = [];
  const ids = new Set<string>();
  for (const [i, r] of routeEntries) {
    const at = `routes[${i}]`;
    if (ids.has(r.id)) issues.push({ path: `${at}.id`, message: `duplicate route id "${r.id}"` });
    ids.add(r.id);
    if (checkTargets && !seenUpstreams.has(r.target)) {
      issues.push({
        path: `${at}.target`,
        message: `unknown upstream "${r.target}" (known: ${[...seenUpstreams].join(', ')})`,
      });
    }
    if (r.methods.includes('*') && r.methods.length > 1) {
      issues.push({ path: `${at}.methods`, message: '"*" must be the only method' });
    }
    let pattern: CompiledPattern | undefined;
    try {
      pattern = compilePattern(r.path);
    } catch (err) {
      if (!(err instanceof PatternError)) throw err;
      issues.push({ path: `${at}.path`, message: err.message });
    }
    const canary = pattern
      ? compileCanary(r, at, pattern, spec.defaultTarget, upstreams, seenUpstreams, issues)
      : undefined;
    const fallbackName = r.fallback ? (r.fallback.to ?? r.canary?.baseline ?? spec.defaultTarget) : undefined;
    if (checkTargets && r.fallback?.to !== undefined && !seenUpstreams.has(r.fallback.to)) {
      issues.push({
        path: `${at}.fallback.to`,
        message: `unknown upstream "${r.fallback.to}" (known: ${[...seenUpstreams].join(', ')})`,
      });
    }
    const fallbackUpstream = fallbackName === undefined ? undefined : upstreams.get(fallbackName);
    const fallback =
      r.fallback && fallbackUpstream
        ? { upstream: fallbackUpstream, statuses: new Set(r.fallback.statuses) }
        : undefined;
    const shadow = compileShadow(r, at, spec.defaultTarget, upstreams, seenUpstreams, issues);
    if (checkTargets) issues.push(...planIssues(r, at, spec.defaultTarget, seenUpstreams));
    const cdc = pattern ? compileCdc(r, at, pattern, spec.defaultTarget, upstreams, seenUpstreams, issues) : undefined;
    const upstream = upstreams.get(r.target);
    if (!pattern || !upstream) continue;
    const methods = r.methods.includes('*') ? null : new Set<string>(r.methods);
    const headers = Object.entries(r.headers ?? {})
      .map(([n, v]) => [n.toLowerCase(), v] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const sibling = routes.find(
      (o) =>
        samePatternShape(o.pattern, pattern) && sameHeaders(o.headers, headers) && methodsOverlap(o.methods, methods),
    );
    if (sibling) {
      issues.push({
        path: `${at}.methods`,
        message: `route "${r.id}" conflicts with "${sibling.id}" (routes[${sibling.index}]): same path shape, headers and methods`,
      });
    }
    routes.push({ spec: r, id: r.id, index: i, pattern, methods, headers, upstream, canary, fallback, shadow, cdc });
  }

  // A route claiming GET also claims HEAD (as Spring MVC and Express do), unless a sibling claims HEAD itself.
  const withHead = routes.map((r) => {
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

  if (issues.length > 0) return { ok: false, issues };
  withHead.sort(compareRoutes);
  const fixedLength = (r: CompiledRoute) => r.pattern.segments.filter((x) => x.kind !== 'wildcard').length;
  const hasWildcard = (r: CompiledRoute) => r.pattern.segments.some((x) => x.kind === 'wildcard');
  const longest = Math.max(0, ...withHead.map(fixedLength));
  const byLength = Array.from({ length: longest + 1 }, (_, n) =>
    Object.freeze(withHead.filter((r) => (hasWildcard(r) ? fixedLength(r) <= n : fixedLength(r) === n))),
  );
  const longPaths = Object.freeze(withHead.filter(hasWildcard));
  const table: CompiledTable = {
    version: options.version,
    spec,
    routes: Object.freeze(withHead),
    byLength: Object.freeze(byLength),
    longPaths,
    upstreams,
    defaultUpstream: upstreams.get(spec.defaultTarget)!,
  };
  return { ok: true, table: Object.freeze(table) };
}
