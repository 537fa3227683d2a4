import type { CompiledPattern } from '../routing/pattern';
import type { CompiledUpstream, TableIssue } from './compile';
import type { RouteSpec } from './schema';

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

/** Resolves a route's `cdc` block (source upstream, key position); problems are pushed to `issues`. */
export function compileCdc(
  r: RouteSpec,
  at: string,
  pattern: CompiledPattern,
  defaultTarget: string,
  upstreams: ReadonlyMap<string, CompiledUpstream>,
  known: ReadonlySet<string>,
  issues: TableIssue[],
): CompiledCdc | undefined {
  const cdc = r.cdc;
  if (cdc === undefined) return undefined;
  const sourceName = cdc.source ?? defaultTarget;
  if (cdc.source !== undefined && !known.has(sourceName)) {
    issues.push({
      path: `${at}.cdc.source`,
      message: `unknown upstream "${sourceName}" (known: ${[...known].join(', ')})`,
    });
  }
  const key = cdc.key ?? r.canary?.key ?? {};
  const where = cdc.key ? `${at}.cdc.key.param` : `${at}.canary.key.param`;
  const paramIndex =
    key.param === undefined ? undefined : pattern.segments.findIndex((s) => s.kind === 'param' && s.name === key.param);
  if (paramIndex === -1 && cdc.key) {
    issues.push({ path: where, message: `no parameter ":${key.param}" in path "${r.path}"` });
  }
  const seen = new Set<string>();
  cdc.tables.forEach((t, j) => {
    if (seen.has(t)) issues.push({ path: `${at}.cdc.tables[${j}]`, message: `duplicate table "${t}"` });
    seen.add(t);
  });
  const source = upstreams.get(sourceName);
  if (!source || paramIndex === -1) return undefined;
  return {
    tables: cdc.tables,
    source,
    header: key.header?.toLowerCase(),
    paramIndex,
    maxLagMs: cdc.maxLagMs,
    pinMs: cdc.readYourWrites ? cdc.readYourWrites.pinSeconds * 1000 : undefined,
  };
}
