import type { IncomingHttpHeaders } from 'node:http';
import type { ProxyErrorCode } from '../errors';
import type { CompiledRoute, CompiledTable, CompiledUpstream } from '../table/compile';
import { pickCanaryUpstream } from './canary';
import { matchPattern } from './pattern';
import { parseRequestTarget } from './request-target';

/** Route id reported when no route claims a request and it goes to the table's default target. */
export const DEFAULT_ROUTE_ID = '(default)';

/** What to do with one request; computed once when the request arrives and kept until it ends. */
export type Decision =
  | {
      readonly action: 'forward';
      readonly routeId: string;
      readonly route: CompiledRoute | undefined;
      readonly upstream: CompiledUpstream;
      /** Request target to send upstream (path and query as received). */
      readonly target: string;
      readonly tableVersion: number;
    }
  | {
      readonly action: 'respond';
      readonly code: ProxyErrorCode;
      readonly reason: string;
      readonly routeId?: string;
      readonly upstream?: string;
      readonly tableVersion: number;
    };

function headersMatch(route: CompiledRoute, headers: IncomingHttpHeaders): boolean {
  for (const [name, value] of route.headers) {
    const actual = headers[name];
    if (Array.isArray(actual) ? !actual.includes(value) : actual !== value) return false;
  }
  return true;
}

/** The most specific route claiming the request, or `undefined` (routes are pre-sorted by the compiler). */
export function findRoute(
  method: string,
  segments: readonly string[],
  headers: IncomingHttpHeaders,
  table: CompiledTable,
): CompiledRoute | undefined {
  const candidates = table.byLength[segments.length] ?? table.longPaths;
  for (const route of candidates) {
    if (route.methods !== null && !route.methods.has(method)) continue;
    if (!matchPattern(route.pattern, segments)) continue;
    if (route.headers.length > 0 && !headersMatch(route, headers)) continue;
    return route;
  }
  return undefined;
}

/**
 * Decides where a request goes. Pure: no I/O, no clock. Of the routes whose methods, path pattern and
 * header conditions all match, the most specific wins:
 * 1. path patterns compared segment by segment from the left: literal > `:param` > end of pattern > `*`;
 * 2. then a route with an explicit method list beats one with `*`;
 * 3. then the route with more header conditions;
 * 4. then the route listed first in the table.
 * No route → the table's `defaultTarget`. Ambiguous paths are refused (see {@link parseRequestTarget}).
 * A route in mode `canary` picks its upstream by the request's sticky key (`clientAddress` is the last
 * resort key), see {@link pickCanaryUpstream}.
 */
export function decide(
  method: string,
  url: string,
  headers: IncomingHttpHeaders,
  table: CompiledTable,
  clientAddress?: string,
): Decision {
  const parsed = parseRequestTarget(url);
  if (!parsed.ok) return { action: 'respond', code: parsed.code, reason: parsed.reason, tableVersion: table.version };
  const route = findRoute(method, parsed.segments, headers, table);
  if (route === undefined) {
    return {
      action: 'forward',
      routeId: DEFAULT_ROUTE_ID,
      route,
      upstream: table.defaultUpstream,
      target: parsed.forward,
      tableVersion: table.version,
    };
  }
  if (route.spec.mode === 'unavailable') {
    return {
      action: 'respond',
      code: 'PROXY_ERR_ROUTE_UNAVAILABLE',
      reason: `route "${route.id}" is switched off`,
      routeId: route.id,
      upstream: route.upstream.name,
      tableVersion: table.version,
    };
  }
  return {
    action: 'forward',
    routeId: route.id,
    route,
    upstream: route.shadow
      ? route.shadow.baseline
      : route.canary
        ? pickCanaryUpstream(route.canary, route.upstream, parsed.segments, headers, clientAddress)
        : route.upstream,
    target: parsed.forward,
    tableVersion: table.version,
  };
}
