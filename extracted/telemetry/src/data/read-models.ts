import type { Pool } from 'pg';
import { LIVE_SCHEMA } from './projection-store';

export interface LatestRow {
  metric: string;
  value: number;
  unit: string;
  measuredAt: Date;
  source: string;
}

export interface RawPoint {
  measuredAt: Date;
  value: number;
}

export interface Bucket {
  bucket: Date;
  min: number;
  max: number;
  avg: number;
  count: number;
}

export interface HouseDeviceRow extends LatestRow {
  deviceId: string;
}

const s = LIVE_SCHEMA;

/**
 * The query side: reads only the read models (never the command log, never the monolith). Every statement names
 * the live schema, so a rebuild's swap is picked up by the next query.
 */
export class ReadModels {
  constructor(private readonly pool: Pool) {}

  async latest(deviceId: string): Promise<LatestRow[]> {
    const { rows } = await this.pool.query<LatestRow>(
      `SELECT metric, value, unit, measured_at AS "measuredAt", source FROM ${s}.latest WHERE device_id = $1
       ORDER BY metric`,
      [deviceId],
    );
    return rows;
  }

  async houseOf(deviceId: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ house_id: string }>(
      `SELECT house_id FROM ${s}.device_houses WHERE device_id = $1`,
      [deviceId],
    );
    return rows[0]?.house_id;
  }

  /** unit of a series, or undefined when the device never reported the metric */
  async seriesUnit(deviceId: string, metric: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ unit: string }>(
      `SELECT unit FROM ${s}.latest WHERE device_id = $1 AND metric = $2`,
      [deviceId, metric],
    );
    return rows[0]?.unit;
  }

  /** raw readings with from <= measuredAt < to, after the keyset position `afterMs`, at most `limit` */
  async raw(q: RangeQuery): Promise<RawPoint[]> {
    const [cmp, dir] = q.order === 'asc' ? ['>', 'ASC'] : ['<', 'DESC'];
    const { rows } = await this.pool.query<RawPoint>(
      `SELECT measured_at AS "measuredAt", value FROM ${s}.readings
       WHERE device_id = $1 AND metric = $2 AND measured_at >= $3 AND measured_at < $4
         AND ($5::timestamptz IS NULL OR measured_at ${cmp} $5)
       ORDER BY measured_at ${dir} LIMIT $6`,
      [q.deviceId, q.metric, q.from, q.to, q.afterMs === undefined ? null : new Date(q.afterMs), q.limit],
    );
    return rows;
  }

  /** rollup buckets whose start lies in [from, to) */
  async buckets(q: RangeQuery & { step: '1m' | '1h' }): Promise<Bucket[]> {
    const table = q.step === '1m' ? 'rollups_minute' : 'rollups_hour';
    const [cmp, dir] = q.order === 'asc' ? ['>', 'ASC'] : ['<', 'DESC'];
    const { rows } = await this.pool.query<{ bucket: Date; min: number; max: number; avg: number; count: string }>(
      `SELECT bucket, min, max, (sum / count)::float8 AS avg, count FROM ${s}.${table}
       WHERE device_id = $1 AND metric = $2 AND bucket >= $3 AND bucket < $4
         AND ($5::timestamptz IS NULL OR bucket ${cmp} $5)
       ORDER BY bucket ${dir} LIMIT $6`,
      [q.deviceId, q.metric, q.from, q.to, q.afterMs === undefined ? null : new Date(q.afterMs), q.limit],
    );
    return rows.map((r) => ({ ...r, count: Number(r.count) }));
  }

  /** latest values of every device of a house (at most `limit` devices) */
  async house(houseId: string, limit: number): Promise<HouseDeviceRow[]> {
    const { rows } = await this.pool.query<HouseDeviceRow>(
      `SELECT l.device_id AS "deviceId", l.metric, l.value, l.unit, l.measured_at AS "measuredAt", l.source
       FROM (SELECT device_id FROM ${s}.device_houses WHERE house_id = $1 ORDER BY device_id LIMIT $2) h
       JOIN ${s}.latest l USING (device_id)
       ORDER BY l.device_id, l.metric`,
      [houseId, limit],
    );
    return rows;
  }

  /**
   * The legacy current temperature of a heating system: its latest `temperature`, unless the monolith deleted the
   * row (then undefined, like an id that never existed).
   */
  async legacyCurrentTemperature(deviceId: string): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ value: number }>(
      `SELECT l.value FROM ${s}.latest l
       WHERE l.device_id = $1 AND l.metric = 'temperature'
         AND NOT EXISTS (SELECT 1 FROM feed.legacy_devices d WHERE d.device_id = $1 AND d.deleted)`,
      [deviceId],
    );
    return rows[0]?.value;
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }
}

export interface RangeQuery {
  deviceId: string;
  metric: string;
  from: Date;
  to: Date;
  order: 'asc' | 'desc';
  afterMs?: number;
  limit: number;
}

/** The query side as the HTTP layer sees it (a fake in unit tests). */
export type ReadModelQueries = Pick<
  ReadModels,
  'latest' | 'houseOf' | 'seriesUnit' | 'raw' | 'buckets' | 'house' | 'legacyCurrentTemperature' | 'ping'
>;
