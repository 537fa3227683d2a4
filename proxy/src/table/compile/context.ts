import type { CompiledPattern } from '../../routing/pattern';
import type { CompiledUpstream } from './upstream';

/** What every feature compiler of a route knows about the table and the route. */
export interface RouteContext {
  /** Issue path prefix of the route: `routes[2]`. */
  readonly at: string;
  readonly defaultTarget: string;
  /** Upstreams that compiled, by name. */
  readonly upstreams: ReadonlyMap<string, CompiledUpstream>;
  /** Every upstream name the table declares, those that did not compile included. */
  readonly known: ReadonlySet<string>;
  /** Whether targets are checked against `known` (not when the table's upstream list is malformed). */
  readonly checkTargets: boolean;
  /** The route's compiled path; `undefined` when it does not compile. */
  readonly pattern: CompiledPattern | undefined;
}

/** Index of the path segment holding parameter `name`; -1 when the path has none; `undefined` without a name. */
export function paramIndexOf(pattern: CompiledPattern, name: string | undefined): number | undefined {
  return name === undefined ? undefined : pattern.segments.findIndex((s) => s.kind === 'param' && s.name === name);
}
