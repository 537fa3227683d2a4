import { unknownUpstream } from '../issues';
import type { RouteSpec } from '../schema';
import type { RouteContext } from './context';
import { NONE, type Part } from './part';
import type { CompiledUpstream } from './upstream';

/** Where safe requests of a route go when its upstream fails, and which statuses count as failures. */
export interface CompiledFallback {
  readonly upstream: CompiledUpstream;
  /** Statuses that count as failures besides 5xx. */
  readonly statuses: ReadonlySet<number>;
}

/** Resolves a route's `fallback`: its upstream (`to`, else the canary baseline, else the default target). */
export function compileFallback(r: RouteSpec, ctx: RouteContext): Part<CompiledFallback> {
  if (!r.fallback) return NONE;
  const { to, statuses } = r.fallback;
  const issues =
    ctx.checkTargets && to !== undefined && !ctx.known.has(to)
      ? [unknownUpstream(`${ctx.at}.fallback.to`, to, ctx.known)]
      : [];
  const upstream = ctx.upstreams.get(to ?? r.canary?.baseline ?? ctx.defaultTarget);
  return { value: upstream ? { upstream, statuses: new Set(statuses) } : undefined, issues };
}
