import { LRUCache } from 'lru-cache';
import type { PinPosition } from './freshness';

interface Pin {
  pending: number;
  lsn?: bigint;
  afterTsMs?: number;
  createdAt: number;
}

/** A write in flight that pinned its key; settle it once the source has answered. */
export interface PinToken {
  readonly keys: readonly string[];
}

/** Counters of the pin store. */
export interface PinStats {
  /** keys pinned now (expired entries may still count until touched) */
  size: number;
  max: number;
  /** writes that pinned a key */
  pinned: number;
  /** writes settled with a WAL position / a commit time */
  resolvedLsn: number;
  resolvedTime: number;
  /** writes the source did not answer with a 2xx (their pin, if alone, was dropped) */
  cancelled: number;
  /** pins dropped to stay within `max` (read-your-writes lost for those keys) */
  evicted: number;
  /** writes sent to the service that dropped their key's settled pins (see {@link PinStore.release}) */
  released: number;
}

const keyOf = (table: string, key: string) => `${table}\u0000${key}`;

/**
 * Read-your-writes pins, per (source table, entity key): bounded (least recently used dropped first beyond
 * `max`) and short-lived (each entry expires `ttlMs` after its last write). A write pins its key *before* it is
 * forwarded (pending), so a read sent right after the write's answer always sees the pin; once the source has
 * answered, the pin records what the service must have applied before the key's reads may go back to it.
 */
export class PinStore {
  private readonly cache: LRUCache<string, Pin>;
  private readonly counts = { pinned: 0, resolvedLsn: 0, resolvedTime: 0, cancelled: 0, evicted: 0, released: 0 };

  constructor(
    readonly max: number,
    private ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.cache = new LRUCache<string, Pin>({
      max,
      ttl: ttlMs,
      ttlResolution: 0,
      perf: { now: () => this.now() },
      dispose: (_pin, _key, reason) => {
        if (reason === 'evict') this.counts.evicted++;
      },
    });
  }

  /** Lifetime of entries written from now on (the longest `pinSeconds` of the table in force). */
  setTtl(ms: number): void {
    this.ttlMs = ms;
  }

  /** Pins `key` on `tables` for a write about to be forwarded to the source. */
  begin(tables: readonly string[], key: string): PinToken {
    const keys = tables.map((t) => keyOf(t, key));
    const now = this.now();
    for (const k of keys) {
      const pin = this.cache.get(k);
      if (pin) {
        pin.pending++;
        pin.createdAt = now;
        this.cache.set(k, pin, { ttl: this.ttlMs });
      } else this.cache.set(k, { pending: 1, createdAt: now }, { ttl: this.ttlMs });
    }
    this.counts.pinned++;
    return { keys };
  }

  /** The source answered the write with a 2xx: the service must reach `position` before reads leave the source. */
  resolve(token: PinToken, position: { lsn: bigint } | { afterTsMs: number }): void {
    if ('lsn' in position) this.counts.resolvedLsn++;
    else this.counts.resolvedTime++;
    for (const k of token.keys) {
      const pin = this.cache.get(k, { updateAgeOnGet: false });
      if (!pin) continue;
      pin.pending = Math.max(0, pin.pending - 1);
      if ('lsn' in position) pin.lsn = pin.lsn === undefined || position.lsn > pin.lsn ? position.lsn : pin.lsn;
      else pin.afterTsMs = Math.max(pin.afterTsMs ?? 0, position.afterTsMs);
    }
  }

  /** The write failed or changed nothing (not a 2xx): its pending mark is removed. */
  cancel(token: PinToken): void {
    this.counts.cancelled++;
    for (const k of token.keys) {
      const pin = this.cache.get(k, { updateAgeOnGet: false });
      if (!pin) continue;
      pin.pending = Math.max(0, pin.pending - 1);
      if (pin.pending === 0 && pin.lsn === undefined && pin.afterTsMs === undefined) this.cache.delete(k);
    }
  }

  /**
   * A write of `key` is about to go to the service, not the source: from now on the service holds the key's newest
   * value and the source lags it until the write-back lands, so the key's settled pins (which send its reads to the
   * source) are dropped. A pin of a source write still in flight (pending) stays. Returns how many were dropped.
   */
  release(tables: readonly string[], key: string): number {
    let dropped = 0;
    for (const t of tables) {
      const k = keyOf(t, key);
      const pin = this.cache.get(k, { updateAgeOnGet: false });
      if (pin && pin.pending === 0) {
        this.cache.delete(k);
        dropped++;
      }
    }
    if (dropped > 0) this.counts.released++;
    return dropped;
  }

  /** Live pins of `key` on any of `tables`. */
  find(tables: readonly string[], key: string): PinPosition[] {
    const out: PinPosition[] = [];
    for (const t of tables) {
      const pin = this.cache.get(keyOf(t, key), { updateAgeOnGet: false });
      if (pin) out.push({ ...pin });
    }
    return out;
  }

  stats(): PinStats {
    return { size: this.cache.size, max: this.max, ...this.counts };
  }
}
