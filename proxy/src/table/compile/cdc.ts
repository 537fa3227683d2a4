import { unknownUpstream, type TableIssue } from '../issues';
import type { RouteSpec } from '../schema';
import { paramIndexOf, type RouteContext } from './context';
import { NONE, type Part } from './part';
import type { CompiledUpstream } from './upstream';

/** CDC settings of a route, resolved against the table. */
export interface CompiledCdc {
  /** schema-qualified source tables */
  readonly tables: readonly string[];
  /** upstream holding the data of record; stale or pinned reads go there */
  readonly source: CompiledUpstream;
  /** lowercased header holding the entity key */
  readonly header: string | undefined;
  /** index of the path segment holding the entity key */
  readonly paramIndex: number | undefined;
  readonly maxLagMs: number;
  /** read-your-writes pin cap in ms; undefined: reads ignore pins */
  readonly pinMs: number | undefined;
}

/** Issues of tables listed twice. */
function duplicateTables(tables: readonly string[], at: string): TableIssue[] {
  return tables.flatMap((t, j) =>
    tables.indexOf(t) < j ? [{ path: `${at}.cdc.tables[${j}]`, message: `duplicate table "${t}"` }] : [],
  );
}

/** Resolves a route's `cdc` block (source upstream, key position: its own, else the canary's). */
export function compileCdc(r: RouteSpec, ctx: RouteContext): Part<CompiledCdc> {
  const cdc = r.cdc;
  if (cdc === undefined || !ctx.pattern) return NONE;
  const { at } = ctx;
  const issues: TableIssue[] = [];
  const sourceName = cdc.source ?? ctx.defaultTarget;
  if (cdc.source !== undefined && !ctx.known.has(sourceName)) {
    issues.push(unknownUpstream(`${at}.cdc.source`, sourceName, ctx.known));
  }
  const key = cdc.key ?? r.canary?.key ?? {};
  const paramIndex = paramIndexOf(ctx.pattern, key.param);
  if (paramIndex === -1 && cdc.key) {
    issues.push({ path: `${at}.cdc.key.param`, message: `no parameter ":${key.param}" in path "${r.path}"` });
  }
  issues.push(...duplicateTables(cdc.tables, at));
  const source = ctx.upstreams.get(sourceName);
  if (!source || paramIndex === -1) return { value: undefined, issues };
  const value: CompiledCdc = {
    tables: cdc.tables,
    source,
    header: key.header?.toLowerCase(),
    paramIndex,
    maxLagMs: cdc.maxLagMs,
    pinMs: cdc.readYourWrites ? cdc.readYourWrites.pinSeconds * 1000 : undefined,
  };
  return { value, issues };
}
