import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { CompiledCanary, CompiledUpstream } from '../table/compile';

/** Number of canary buckets; a weight of w % sends buckets `[0, w × 100)` to the route's upstream. */
export const CANARY_BUCKETS = 10_000;

/** Request header with which testers pick a side of a canary route (when the route allows it). */
export const TARGET_OVERRIDE_HEADER = 'x-strangler-target';

/**
 * The bucket (0–9999) of a sticky key: the first 32 bits of its SHA-256, modulo 10,000. Depends on the key
 * only — not on the route, the process or the weight — so a key keeps its side across restarts and on every
 * route split by the same key, and a higher weight only adds buckets to the route's upstream.
 */
export function canaryBucket(key: string): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0) % CANARY_BUCKETS;
}

function firstHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}

/** The sticky key of a request: the route's header, else its path parameter, else the client address. */
export function canaryKey(
  canary: CompiledCanary,
  segments: readonly string[],
  headers: IncomingHttpHeaders,
  clientAddress: string | undefined,
): string {
  const fromHeader = canary.header === undefined ? undefined : firstHeader(headers, canary.header);
  if (fromHeader !== undefined) return fromHeader;
  const fromPath = canary.paramIndex === undefined ? undefined : segments[canary.paramIndex];
  if (fromPath !== undefined) return fromPath;
  return clientAddress ?? '';
}

/**
 * Which upstream serves a request on a canary route: the tester's override when the route allows it
 * (`service` or the route's upstream name → the route's upstream; `monolith` or the baseline's name → the
 * baseline; anything else is ignored), else the key's bucket against the weight.
 */
export function pickCanaryUpstream(
  canary: CompiledCanary,
  upstream: CompiledUpstream,
  segments: readonly string[],
  headers: IncomingHttpHeaders,
  clientAddress: string | undefined,
): CompiledUpstream {
  if (canary.allowOverride) {
    const wanted = firstHeader(headers, TARGET_OVERRIDE_HEADER)?.trim().toLowerCase();
    if (wanted === 'service' || wanted === upstream.name) return upstream;
    if (wanted === 'monolith' || wanted === canary.baseline.name) return canary.baseline;
  }
  if (canary.threshold <= 0) return canary.baseline;
  if (canary.threshold >= CANARY_BUCKETS) return upstream;
  const key = canaryKey(canary, segments, headers, clientAddress);
  return canaryBucket(key) < canary.threshold ? upstream : canary.baseline;
}
