import type { Pool } from 'pg';

/** One side of a drift comparison: how to read `(id, is_on, target_temperature, current_temperature)` rows. */
export interface DriftSide {
  pool: Pool;
  /** a SELECT yielding columns `id, is_on, target_temperature, current_temperature`, filtered by `id BETWEEN $1 AND $2` */
  rowsSql: string;
}

/** `smart_home.heating_systems` in the monolith. */
export const MONOLITH_HEATING_SQL = `SELECT id, is_on, target_temperature, current_temperature
  FROM heating_systems WHERE id BETWEEN $1 AND $2`;

/**
 * Device management's copy (`device_management.devices`): legacy heating devices that are not deleted, keyed by the
 * monolith id they keep in `legacy_id`.
 */
export const DEVICE_MANAGEMENT_HEATING_SQL = `SELECT legacy_id AS id, is_on, target_temperature, current_temperature
  FROM devices WHERE origin = 'monolith' AND type = 'heating' AND status <> 'deleted' AND legacy_id BETWEEN $1 AND $2`;

/** One row as compared: every column as PostgreSQL's text (same types on both sides, so equal values print equally). */
export interface DriftRow {
  id: string;
  is_on: string | null;
  target_temperature: string | null;
  current_temperature: string | null;
}

/** A key whose row differs. */
export interface DriftKey {
  id: string;
  kind: 'missing_in_copy' | 'extra_in_copy' | 'different';
  /** for `different`: the columns that differ */
  columns?: string[];
}

/** Result of one drift check. */
export interface DriftReport {
  table: string;
  copy: string;
  at: string;
  range: { from: string; to: string; size: number };
  sourceRows: number;
  copyRows: number;
  /** ranges whose count or checksum differed */
  rangesDiffering: number;
  rangesChecked: number;
  differing: DriftKey[];
}

const COMPARED = ['is_on', 'target_temperature', 'current_temperature'] as const;

const bucketSql = (rowsSql: string) => `SELECT (id / $3)::text AS bucket, count(*)::int AS n,
  md5(string_agg(concat_ws('|', id, coalesce(is_on::text, '∅'), coalesce(target_temperature::text, '∅'),
    coalesce(current_temperature::text, '∅')), ',' ORDER BY id)) AS sum
  FROM (${rowsSql}) r GROUP BY 1`;

const textRowsSql = (rowsSql: string) => `SELECT id::text, is_on::text, target_temperature::text,
  current_temperature::text FROM (${rowsSql}) r ORDER BY id`;

/** Pure: the keys whose rows differ between the source and the copy. */
export function diffRows(source: readonly DriftRow[], copy: readonly DriftRow[]): DriftKey[] {
  const copyById = new Map(copy.map((r) => [r.id, r]));
  const out: DriftKey[] = [];
  for (const s of source) {
    const c = copyById.get(s.id);
    copyById.delete(s.id);
    if (!c) {
      out.push({ id: s.id, kind: 'missing_in_copy' });
      continue;
    }
    const columns = COMPARED.filter((k) => s[k] !== c[k]);
    if (columns.length > 0) out.push({ id: s.id, kind: 'different', columns });
  }
  for (const id of copyById.keys()) out.push({ id, kind: 'extra_in_copy' });
  return out.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : BigInt(a.id) > BigInt(b.id) ? 1 : 0));
}

/** Pure: the buckets whose row count or checksum differ (a bucket present on one side only differs). */
export function differingBuckets(
  source: ReadonlyArray<{ bucket: string; n: number; sum: string }>,
  copy: ReadonlyArray<{ bucket: string; n: number; sum: string }>,
): string[] {
  const key = (b: { n: number; sum: string }) => `${b.n}:${b.sum}`;
  const a = new Map(source.map((b) => [b.bucket, key(b)]));
  const c = new Map(copy.map((b) => [b.bucket, key(b)]));
  return [...new Set([...a.keys(), ...c.keys()])].filter((b) => a.get(b) !== c.get(b));
}

/**
 * Compares the source table with a service's copy: per-range row counts and checksums (`id / rangeSize`) on each
 * side, then the rows of the differing ranges only, to name the differing keys.
 */
export async function checkDrift(
  names: { table: string; copy: string },
  source: DriftSide,
  copy: DriftSide,
  { from = '0', to = '9223372036854775807', rangeSize = 1000 }: { from?: string; to?: string; rangeSize?: number } = {},
): Promise<DriftReport> {
  type Bucket = { bucket: string; n: number; sum: string };
  const buckets = (side: DriftSide) =>
    side.pool.query<Bucket>(bucketSql(side.rowsSql), [from, to, rangeSize]).then((r) => r.rows);
  const [a, c] = await Promise.all([buckets(source), buckets(copy)]);
  const differing = differingBuckets(a, c);
  const keys: DriftKey[] = [];
  for (const bucket of differing) {
    const lo = BigInt(bucket) * BigInt(rangeSize);
    const range = [String(lo), String(lo + BigInt(rangeSize) - 1n)];
    const rows = (side: DriftSide) => side.pool.query<DriftRow>(textRowsSql(side.rowsSql), range).then((r) => r.rows);
    const [sr, cr] = await Promise.all([rows(source), rows(copy)]);
    keys.push(...diffRows(sr, cr).filter((k) => BigInt(k.id) >= BigInt(from) && BigInt(k.id) <= BigInt(to)));
  }
  const count = (bs: Bucket[]) => bs.reduce((sum, b) => sum + b.n, 0);
  return {
    ...names,
    at: new Date().toISOString(),
    range: { from, to, size: rangeSize },
    sourceRows: count(a),
    copyRows: count(c),
    rangesDiffering: differing.length,
    rangesChecked: new Set([...a, ...c].map((b) => b.bucket)).size,
    differing: keys,
  };
}
