import type { Logger } from '@warmhouse/shared';
import type { PinPosition } from '../cdc/freshness';
import { parseLsn } from '../cdc/wal';
import type { ControlDatabase } from './database';

/** A write's pin in the shared store: which keys it raised `pending` on. */
export interface SharedPinToken {
  readonly keys: readonly string[];
}

/** Table and key, apart by a unit separator (PostgreSQL text holds no NUL; table names hold no control characters). */
const keyOf = (table: string, key: string) => `${table}\u001f${key}`;

function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Options of {@link SharedPins}. */
export interface SharedPinsOptions {
  db: ControlDatabase;
  /** Pins kept at most; the least recently written beyond it are swept. */
  max: number;
  logger: Logger;
}

/**
 * Read-your-writes pins shared by every proxy process (`read_pins` in the control store). A write pins its key
 * (pending + 1) *before* it is forwarded to the source, and the pin is committed before the write is sent, so a
 * read through any process after the write's answer finds it: propagation is bounded by that commit, not by a
 * notification. Reads of a CDC-aware route bound for the service look the key up (one primary-key query); the
 * local {@link PinStore} keeps working as before beside it. Pins expire (`expires_at`, the store's clock) and are
 * bounded by {@link sweep}.
 */
export class SharedPins {
  private ttlMs = 15_000;

  constructor(private readonly options: SharedPinsOptions) {}

  /** Lifetime of pins written from now on (the longest `pinSeconds` of the table in force). */
  setTtl(ms: number): void {
    this.ttlMs = ms;
  }

  /** Live pins of `key` on any of `tables`, as the read decision takes them. */
  async find(tables: readonly string[], key: string): Promise<PinPosition[]> {
    const rows = await this.options.db.query<{
      pending: number;
      lsn: string | null;
      after_ms: string | null;
      written_ms: string;
    }>(
      `SELECT pending, lsn::text AS lsn, (extract(epoch FROM after_ts) * 1000)::bigint AS after_ms,
              (extract(epoch FROM written_at) * 1000)::bigint AS written_ms
       FROM read_pins WHERE pin_key = ANY($1::text[]) AND expires_at > clock_timestamp()`,
      [tables.map((t) => keyOf(t, key))],
    );
    return rows.map((r) => ({
      pending: r.pending,
      ...(r.lsn === null ? {} : { lsn: parseLsn(r.lsn) }),
      ...(r.after_ms === null ? {} : { afterTsMs: Number(r.after_ms) }),
      createdAt: Number(r.written_ms),
    }));
  }

  /** Pins `key` on `tables` for a write about to be forwarded to the source; resolves once stored. */
  async begin(tables: readonly string[], key: string): Promise<SharedPinToken> {
    const keys = tables.map((t) => keyOf(t, key));
    await this.options.db.query(
      `INSERT INTO read_pins (pin_key, pending, written_at, expires_at)
       SELECT k, 1, clock_timestamp(), clock_timestamp() + make_interval(secs => $2 / 1000.0)
       FROM unnest($1::text[]) AS k
       ON CONFLICT (pin_key) DO UPDATE SET pending = read_pins.pending + 1, written_at = EXCLUDED.written_at,
         expires_at = EXCLUDED.expires_at`,
      [keys, this.ttlMs],
    );
    return { keys };
  }

  /** The source answered the write with a 2xx: the service must reach `position` before reads leave the source. */
  async resolve(token: SharedPinToken, position: { lsn: bigint } | { afterTsMs: number }): Promise<void> {
    const lsn = 'lsn' in position ? formatLsn(position.lsn) : null;
    const after = 'afterTsMs' in position ? new Date(position.afterTsMs) : null;
    await this.options.db.query(
      `UPDATE read_pins SET pending = greatest(pending - 1, 0),
         lsn = CASE WHEN $2::pg_lsn IS NULL THEN lsn ELSE greatest(coalesce(lsn, $2::pg_lsn), $2::pg_lsn) END,
         after_ts = CASE WHEN $3::timestamptz IS NULL THEN after_ts
                         ELSE greatest(coalesce(after_ts, $3::timestamptz), $3::timestamptz) END
       WHERE pin_key = ANY($1::text[])`,
      [token.keys, lsn, after],
    );
  }

  /** The write failed or changed nothing: its pending mark is removed (and the pin, if nothing else holds it). */
  async cancel(token: SharedPinToken): Promise<void> {
    await this.options.db.query(
      `WITH lowered AS (
         UPDATE read_pins SET pending = greatest(pending - 1, 0) WHERE pin_key = ANY($1::text[])
         RETURNING pin_key, pending, lsn, after_ts)
       DELETE FROM read_pins p USING lowered l
       WHERE p.pin_key = l.pin_key AND l.pending = 0 AND l.lsn IS NULL AND l.after_ts IS NULL`,
      [token.keys],
    );
  }

  /** A write of `key` is about to go to the service: the key's settled pins go (see `PinStore.release`). */
  async release(tables: readonly string[], key: string): Promise<void> {
    await this.options.db.query(`DELETE FROM read_pins WHERE pin_key = ANY($1::text[]) AND pending = 0`, [
      tables.map((t) => keyOf(t, key)),
    ]);
  }

  /** Deletes expired pins, then the least recently written beyond `max`; returns how many went. */
  async sweep(): Promise<number> {
    const rows = await this.options.db.query<{ n: string }>(
      `WITH expired AS (DELETE FROM read_pins WHERE expires_at <= clock_timestamp() RETURNING 1),
            over AS (DELETE FROM read_pins WHERE pin_key IN (
              SELECT pin_key FROM read_pins ORDER BY written_at DESC OFFSET $1) RETURNING 1)
       SELECT (SELECT count(*) FROM expired) + (SELECT count(*) FROM over) AS n`,
      [this.options.max],
    );
    return Number(rows[0]?.n ?? 0);
  }
}
