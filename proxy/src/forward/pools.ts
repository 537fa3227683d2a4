import { Pool } from 'undici';
import type { CompiledTable, CompiledUpstream } from '../table/compile';

/** Largest response head accepted from an upstream (bytes). */
const MAX_UPSTREAM_HEADER_BYTES = 64 * 1024;

function keyOf(u: CompiledUpstream): string {
  return `${u.origin}|${u.timeouts.connectMs}|${u.maxConnections}`;
}

/**
 * One keep-alive undici Pool per upstream (origin, connect timeout, size). Pools of upstreams that leave
 * the table are closed gracefully: requests already running on them finish first.
 */
export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();
  private readonly byName = new Map<string, { key: string; pool: Pool }>();

  /** The pool for an upstream (created on first use). */
  get(upstream: CompiledUpstream): Pool {
    const cached = this.byName.get(upstream.name);
    const key = keyOf(upstream);
    if (cached !== undefined && cached.key === key) return cached.pool;
    let pool = this.pools.get(key);
    if (pool === undefined) {
      pool = new Pool(upstream.origin, {
        connections: upstream.maxConnections,
        pipelining: 1,
        connect: { timeout: upstream.timeouts.connectMs },
        headersTimeout: upstream.timeouts.headersMs,
        bodyTimeout: upstream.timeouts.bodyMs,
        maxHeaderSize: MAX_UPSTREAM_HEADER_BYTES,
        strictContentLength: true,
      });
      this.pools.set(key, pool);
    }
    this.byName.set(upstream.name, { key, pool });
    return pool;
  }

  /** Closes (gracefully) the pools no upstream of `table` uses any more. */
  retain(table: CompiledTable): void {
    const keep = new Set([...table.upstreams.values()].map(keyOf));
    for (const [key, pool] of this.pools) {
      if (keep.has(key)) continue;
      this.pools.delete(key);
      void pool.close().catch(() => undefined);
    }
    for (const [name, entry] of this.byName) if (!keep.has(entry.key)) this.byName.delete(name);
  }

  /** Closes every pool, waiting for running requests. */
  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    this.byName.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
  }

  /** Destroys every pool at once (running requests fail). */
  async destroy(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    this.byName.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
  }
}
