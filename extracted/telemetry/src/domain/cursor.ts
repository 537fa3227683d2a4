import { createHash } from 'node:crypto';

/** What a history page is a page of; a cursor is only valid for the same query. */
export interface HistoryQuery {
  deviceId: string;
  metric: string;
  from: Date;
  to: Date;
  step: 'raw' | '1m' | '1h';
  order: 'asc' | 'desc';
}

const fingerprint = (q: HistoryQuery) =>
  createHash('sha256')
    .update([q.deviceId, q.metric, q.from.toISOString(), q.to.toISOString(), q.step, q.order].join('\n'))
    .digest('base64url')
    .slice(0, 12);

/**
 * An opaque keyset cursor: the time (ms) of the last item of the page and a fingerprint of the query. Keyset,
 * not offset, so a page costs the same however deep it is and rows arriving meanwhile shift nothing.
 */
export function encodeCursor(query: HistoryQuery, lastTimeMs: number): string {
  return Buffer.from(`${lastTimeMs}.${fingerprint(query)}`).toString('base64url');
}

/** The time after which the next page starts, or undefined when the cursor is not one of ours for this query. */
export function decodeCursor(query: HistoryQuery, cursor: string): number | undefined {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^(-?\d{1,16})\.([A-Za-z0-9_-]{12})$/.exec(text);
  if (!m || m[2] !== fingerprint(query)) return undefined;
  const ms = Number(m[1]);
  return Number.isSafeInteger(ms) ? ms : undefined;
}
