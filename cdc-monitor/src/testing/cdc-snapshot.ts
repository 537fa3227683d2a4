import type { CdcSnapshot } from '../monitor';

/** A CDC snapshot with nothing configured and nothing wrong, for unit tests; `over` replaces parts of it. */
export function quietCdcSnapshot(over: Partial<CdcSnapshot> = {}): CdcSnapshot {
  return {
    at: '2026-12-05T05:00:00.000Z',
    healthy: true,
    problems: [],
    connectors: [],
    slots: { ok: true, value: [] },
    lag: { ok: true, value: [] },
    freshness: [],
    heartbeat: { ok: true, value: { lastBeatAt: null, ageSeconds: null, overThreshold: false } },
    drift: null,
    probes: null,
    ...over,
  };
}
