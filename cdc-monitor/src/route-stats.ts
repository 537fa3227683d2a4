import type { TargetStats } from '@warmhouse/messaging';
import type { ProxyRoute, ShadowCircuitState, StatsResult } from './proxy-admin';

/** Shown where the proxy has no `/api/stats` (or it failed): the number is not available, not zero. */
export const NOT_AVAILABLE = 'n/a';
/** Shown where there is nothing to compute a rate from (no request in the window). */
export const NO_TRAFFIC = '–';

/** One target's numbers of a route, formatted for the dashboard. */
export interface TargetCells {
  requests: string;
  errorRate: string;
  p99: string;
}

/** A route with its numbers, as the dashboard's routes table shows it. */
export interface RouteRow {
  id: string;
  methods: string;
  path: string;
  target: string;
  mode: string;
  /** canary weight in percent, only for mode canary */
  weight: number | null;
  monolith: TargetCells;
  service: TargetCells;
  /** different / compared of the shadow comparisons in the window */
  shadowDiffRate: string;
  shadowCompared: string;
  /** For a route in mode shadow: whether copies reach its target (its shadow circuit); else empty. */
  shadowCopies: string;
  fallbacks: string;
}

/** What the dashboard says of a shadow route's copies, from its target's shadow circuit. */
export function shadowCopies(mode: string, state: ShadowCircuitState | undefined): string {
  if (mode !== 'shadow') return '';
  if (state === 'open') return 'stopped: target failing';
  if (state === 'half-open') return 'probing';
  return 'sent';
}

/** `0.0123` → `1.2 %`; `null` → `–`. */
export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return NO_TRAFFIC;
  const pct = rate * 100;
  return `${pct === 0 || pct >= 10 ? pct.toFixed(0) : pct.toFixed(1)} %`;
}

/** `12.34` → `12 ms`, `0.42` → `0.4 ms`, `1530` → `1.53 s`; `null` → `–`. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return NO_TRAFFIC;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

const unavailable: TargetCells = { requests: NOT_AVAILABLE, errorRate: NOT_AVAILABLE, p99: NOT_AVAILABLE };

function targetCells(t: TargetStats | undefined): TargetCells {
  if (!t || t.requests === 0) return { requests: '0', errorRate: NO_TRAFFIC, p99: NO_TRAFFIC };
  return { requests: String(t.requests), errorRate: formatRate(t.errorRate), p99: formatMs(t.p99Ms) };
}

/**
 * Pure: the proxy's routes joined with its per-route stats. Without stats (the proxy answers 404 on `/api/stats`, or
 * the call failed) every number is "n/a"; a route the stats do not mention had no traffic in the window.
 */
export function mergeRouteStats(
  routes: readonly ProxyRoute[],
  stats: StatsResult,
  shadowCircuits: Readonly<Record<string, ShadowCircuitState>> = {},
): RouteRow[] {
  return routes.map((r) => {
    const base = {
      id: r.id,
      methods: (r.methods ?? ['*']).join(' '),
      path: r.path,
      target: r.target,
      mode: r.mode ?? 'forward',
      weight: (r.mode ?? 'forward') === 'canary' ? (r.weight ?? 0) : null,
      shadowCopies: shadowCopies(r.mode ?? 'forward', shadowCircuits[r.target]),
    };
    if (stats.state !== 'ok') {
      return {
        ...base,
        monolith: unavailable,
        service: unavailable,
        shadowDiffRate: NOT_AVAILABLE,
        shadowCompared: NOT_AVAILABLE,
        fallbacks: NOT_AVAILABLE,
      };
    }
    const s = stats.stats.routes[r.id];
    const compared = s?.shadow.compared ?? 0;
    return {
      ...base,
      monolith: targetCells(s?.monolith),
      service: targetCells(s?.service),
      shadowDiffRate: compared > 0 ? formatRate(s!.shadow.different / compared) : NO_TRAFFIC,
      shadowCompared: String(compared),
      fallbacks: String(s?.fallbacks ?? 0),
    };
  });
}

/** What the dashboard says about the stats as a whole. */
export function statsNote(stats: StatsResult): { available: boolean; windowSeconds: number | null; note: string } {
  if (stats.state === 'ok') {
    return {
      available: true,
      windowSeconds: stats.stats.windowSeconds,
      note: `numbers over the last ${stats.stats.windowSeconds} s`,
    };
  }
  if (stats.state === 'missing') {
    return { available: false, windowSeconds: null, note: 'n/a: this proxy has no GET /api/stats' };
  }
  return { available: false, windowSeconds: null, note: `n/a: ${stats.error}` };
}
