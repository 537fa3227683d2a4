import type { Request, Response } from 'express';
import type { Context } from 'openapi-backend';
import { decodeCursor, encodeCursor, type HistoryQuery } from '../domain/cursor';
import { parseInstant } from '../domain/reading';
import type { ReadModelQueries } from '../data/read-models';
import type { FieldProblem, TelemetryErrorCode } from '../errors';
import { problemOf } from '../errors';
import { sendProblem } from '@warmhouse/shared';
import { filterReadable, type OwnershipDeps } from './ownership';

const DAY_MS = 24 * 3600 * 1000;
const HOUSE_DEVICE_LIMIT = 1000;

type Handler = (c: Context, req: Request, res: Response) => Promise<void>;

function reject(req: Request, res: Response, code: TelemetryErrorCode, problem: FieldProblem): void {
  sendProblem(
    res,
    problemOf(code, `${problem.field} (${problem.in}): ${problem.message}`, {
      errors: [problem],
      instance: req.originalUrl,
      requestId: String(req.headers['x-request-id'] ?? ''),
    }),
  );
}

const iso = (d: Date) => d.toISOString();

/** The query side's handlers; each reads only the read models. */
export function queryHandlers(
  readModels: ReadModelQueries,
  now: () => Date,
  ownersOf?: OwnershipDeps['ownersOf'],
): Record<string, Handler> {
  /** Another caller's device is as unknown as one without readings (404, not 403). */
  const readable = async (res: Response, deviceId: string) =>
    (await filterReadable(res, ownersOf, [deviceId])).has(deviceId);
  const unknownDevice = (req: Request, res: Response, deviceId: string) =>
    reject(req, res, 'TELEMETRY_ERR_DEVICE_UNKNOWN', {
      in: 'path',
      field: 'deviceId',
      message: `no reading of device ${deviceId} has been stored`,
    });
  return {
    getLatest: async (c, req, res) => {
      const deviceId = String(c.request.params.deviceId);
      if (!(await readable(res, deviceId))) return unknownDevice(req, res, deviceId);
      const [rows, houseId] = await Promise.all([readModels.latest(deviceId), readModels.houseOf(deviceId)]);
      if (rows.length === 0) return unknownDevice(req, res, deviceId);
      res.json({
        deviceId,
        ...(houseId ? { houseId } : {}),
        metrics: rows.map((r) => ({ ...r, measuredAt: iso(r.measuredAt) })),
      });
    },

    getHistory: async (c, req, res) => {
      const deviceId = String(c.request.params.deviceId);
      const metric = String(c.request.params.metric);
      if (!(await readable(res, deviceId))) return unknownDevice(req, res, deviceId);
      const q = c.request.query as Record<string, string | undefined>;
      const instant = (name: 'from' | 'to'): Date | undefined | null => {
        const text = q[name];
        if (text === undefined) return undefined;
        return parseInstant(text) ?? null;
      };
      const toGiven = instant('to');
      const fromGiven = instant('from');
      for (const [name, value] of [
        ['from', fromGiven],
        ['to', toGiven],
      ] as const) {
        if (value === null)
          return reject(req, res, 'TELEMETRY_ERR_VALIDATION', {
            in: 'query',
            field: name,
            message: 'must be an RFC 3339 date-time with a time zone, e.g. 2026-01-01T12:00:00Z',
          });
      }
      const to = toGiven ?? now();
      const from = fromGiven ?? new Date(to.getTime() - DAY_MS);
      if (from.getTime() >= to.getTime()) {
        return reject(req, res, 'TELEMETRY_ERR_VALIDATION', {
          in: 'query',
          field: 'from',
          message: 'must be before to',
        });
      }
      const step = (q.step as '1m' | '1h' | undefined) ?? 'raw';
      const order = (q.order as 'asc' | 'desc' | undefined) ?? 'asc';
      const limit = Number(q.limit ?? 500);
      const query: HistoryQuery = { deviceId, metric, from, to, step, order };
      let afterMs: number | undefined;
      if (q.cursor !== undefined) {
        afterMs = decodeCursor(query, q.cursor);
        if (afterMs === undefined)
          return reject(req, res, 'TELEMETRY_ERR_BAD_CURSOR', {
            in: 'query',
            field: 'cursor',
            message: 'is not a nextCursor of this query (same device, metric, from, to, step and order)',
          });
      }
      const unit = await readModels.seriesUnit(deviceId, metric);
      if (unit === undefined) {
        const known = (await readModels.latest(deviceId)).length > 0;
        return reject(req, res, 'TELEMETRY_ERR_DEVICE_UNKNOWN', {
          in: 'path',
          field: known ? 'metric' : 'deviceId',
          message: known
            ? `device ${deviceId} has no stored reading of metric ${metric}`
            : `no reading of device ${deviceId} has been stored`,
        });
      }
      const range = {
        deviceId,
        metric,
        from,
        to,
        order,
        limit: limit + 1,
        ...(afterMs !== undefined ? { afterMs } : {}),
      };
      const page =
        step === 'raw'
          ? (await readModels.raw(range)).map((p) => ({
              time: p.measuredAt,
              item: { measuredAt: iso(p.measuredAt), value: p.value },
            }))
          : (await readModels.buckets({ ...range, step })).map((b) => ({
              time: b.bucket,
              item: { bucket: iso(b.bucket), min: b.min, max: b.max, avg: b.avg, count: b.count },
            }));
      const more = page.length > limit;
      const items = page.slice(0, limit);
      const last = items[items.length - 1];
      res.json({
        deviceId,
        metric,
        unit,
        step,
        from: iso(from),
        to: iso(to),
        items: items.map((i) => i.item),
        nextCursor: more && last ? encodeCursor(query, last.time.getTime()) : null,
      });
    },

    getHouseSummary: async (c, req, res) => {
      const houseId = String(c.request.params.houseId);
      const q = c.request.query as Record<string, string | undefined>;
      const staleAfterMs = Number(q.staleAfterSeconds ?? 900) * 1000;
      const all = await readModels.house(houseId, HOUSE_DEVICE_LIMIT);
      const mine = await filterReadable(res, ownersOf, [...new Set(all.map((r) => r.deviceId))]);
      const rows = all.filter((r) => mine.has(r.deviceId));
      if (rows.length === 0) {
        return reject(req, res, 'TELEMETRY_ERR_HOUSE_UNKNOWN', {
          in: 'path',
          field: 'houseId',
          message: `no device of house ${houseId} has a stored reading`,
        });
      }
      const devices = new Map<
        string,
        { metric: string; value: number; unit: string; measuredAt: string; source: string }[]
      >();
      const newestOf = new Map<string, number>();
      const metrics = new Map<string, { unit: string; values: number[]; newest: number; oldest: number }>();
      for (const r of rows) {
        const t = r.measuredAt.getTime();
        const list = devices.get(r.deviceId) ?? [];
        list.push({ metric: r.metric, value: r.value, unit: r.unit, measuredAt: iso(r.measuredAt), source: r.source });
        devices.set(r.deviceId, list);
        newestOf.set(r.deviceId, Math.max(newestOf.get(r.deviceId) ?? -Infinity, t));
        // a metric reported in several units by different devices is summarised per unit
        const key = `${r.metric}\u0000${r.unit}`;
        const m = metrics.get(key) ?? { unit: r.unit, values: [], newest: -Infinity, oldest: Infinity };
        m.values.push(r.value);
        m.newest = Math.max(m.newest, t);
        m.oldest = Math.min(m.oldest, t);
        metrics.set(key, m);
      }
      const cutoff = now().getTime() - staleAfterMs;
      res.json({
        houseId,
        deviceCount: devices.size,
        metrics: [...metrics.entries()].map(([key, m]) => ({
          metric: key.split('\u0000')[0],
          unit: m.unit,
          devices: m.values.length,
          min: Math.min(...m.values),
          max: Math.max(...m.values),
          avg: m.values.reduce((a, b) => a + b, 0) / m.values.length,
          newestAt: iso(new Date(m.newest)),
          oldestAt: iso(new Date(m.oldest)),
        })),
        devices: [...devices.entries()].map(([deviceId, list]) => ({ deviceId, metrics: list })),
        staleDevices: [...newestOf.entries()].filter(([, t]) => t < cutoff).map(([id]) => id),
      });
    },
  };
}
