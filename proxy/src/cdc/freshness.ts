import type { AppliedReport } from '@warmhouse/messaging';

/** How topics are named: `<topicPrefix>.<schema>.<table>`, and which table is Debezium's heartbeat. */
export interface TopicNaming {
  readonly topicPrefix: string;
  readonly heartbeatTable: string;
}

/** How far a service has applied one source table. */
export interface TableProgress {
  /** WAL position up to which the table is applied (its own last change or the heartbeat watermark) */
  readonly lsn: bigint | undefined;
  /** source commit time up to which the table is applied, ms */
  readonly sourceTsMs: number | undefined;
}

/** What a read-your-writes pin waits for: a WAL position, a source commit time, or an answer still pending. */
export interface PinPosition {
  /** writes of this key not answered yet */
  readonly pending: number;
  /** `pg_current_wal_lsn()` read after the write was answered */
  readonly lsn?: bigint;
  /** proxy clock when the write was answered plus the clock-skew margin, ms */
  readonly afterTsMs?: number;
  /** proxy clock when the pin was (last) created, ms */
  readonly createdAt: number;
}

/** Why a read went to the source instead of the service. */
export type SourceReason = 'unknown' | 'lag' | 'pinned';

/** The verdict for one read of a CDC-aware route. */
export type ReadVerdict =
  | { readonly serve: 'service'; readonly lagMs: number }
  | { readonly serve: 'source'; readonly reason: SourceReason; readonly lagMs?: number };

const max = <T extends bigint | number>(a: T | undefined, b: T | undefined): T | undefined =>
  a === undefined ? b : b === undefined ? a : a > b ? a : b;

/**
 * Per table, how far the service has applied it: the later of the table topic's last applied change and the
 * heartbeat topic's entry (a watermark: every topic of the service is applied up to it).
 */
export function tableProgress(report: AppliedReport, tables: readonly string[], naming: TopicNaming): TableProgress[] {
  const hb = report.topics[`${naming.topicPrefix}.${naming.heartbeatTable}`];
  return tables.map((t) => {
    const own = report.topics[`${naming.topicPrefix}.${t}`];
    return {
      lsn: max(own ? BigInt(own.lsn) : undefined, hb ? BigInt(hb.lsn) : undefined),
      sourceTsMs: max(own?.sourceTsMs, hb?.sourceTsMs),
    };
  });
}

/** Replication lag of the tables: now minus the oldest "applied up to" commit time; undefined when unknown. */
export function lagMs(progress: readonly TableProgress[], now: number): number | undefined {
  let oldest: number | undefined;
  for (const p of progress) {
    if (p.sourceTsMs === undefined) return undefined;
    oldest = oldest === undefined ? p.sourceTsMs : Math.min(oldest, p.sourceTsMs);
  }
  return oldest === undefined ? undefined : Math.max(0, now - oldest);
}

/** Whether every table has applied the pinned write (a pending write never has). */
export function pinApplied(pin: PinPosition, progress: readonly TableProgress[]): boolean {
  if (pin.pending > 0) return false;
  if (pin.lsn === undefined && pin.afterTsMs === undefined) return false;
  return progress.every(
    (p) =>
      (pin.lsn === undefined || (p.lsn !== undefined && p.lsn >= pin.lsn)) &&
      (pin.afterTsMs === undefined || (p.sourceTsMs !== undefined && p.sourceTsMs >= pin.afterTsMs)),
  );
}

/**
 * Decides where one read of a CDC-aware route goes. Pure. In order: no fresh report from the service (never
 * polled, unreachable, or the last good poll older than `staleAfterMs`) or a table it reports nothing for →
 * `unknown`; lag above `maxLagMs` → `lag`; a pin of the key younger than `pinMs` whose write the service has not
 * applied → `pinned`; else the service.
 */
export function decideRead(input: {
  readonly report: AppliedReport | undefined;
  /** proxy clock of the last successful poll */
  readonly reportAt: number | undefined;
  readonly staleAfterMs: number;
  readonly tables: readonly string[];
  readonly naming: TopicNaming;
  readonly maxLagMs: number;
  /** pins of the key on the route's tables (none when the route has no readYourWrites) */
  readonly pins: readonly PinPosition[];
  readonly pinMs: number | undefined;
  readonly now: number;
}): ReadVerdict {
  const { report, reportAt, now } = input;
  if (report === undefined || reportAt === undefined || now - reportAt > input.staleAfterMs) {
    return { serve: 'source', reason: 'unknown' };
  }
  const progress = tableProgress(report, input.tables, input.naming);
  const lag = lagMs(progress, now);
  if (lag === undefined) return { serve: 'source', reason: 'unknown' };
  if (lag > input.maxLagMs) return { serve: 'source', reason: 'lag', lagMs: lag };
  if (input.pinMs !== undefined) {
    for (const pin of input.pins) {
      if (now - pin.createdAt <= input.pinMs && !pinApplied(pin, progress)) {
        return { serve: 'source', reason: 'pinned', lagMs: lag };
      }
    }
  }
  return { serve: 'service', lagMs: lag };
}
