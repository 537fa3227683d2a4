import { isDeepStrictEqual } from 'node:util';
import type { RouteSpec, TableSpec } from './schema';

/** One difference between two tables, as written to the audit log. */
export interface TableChange {
  action:
    | 'table.loaded'
    | 'route.created'
    | 'route.deleted'
    | 'route.retargeted'
    | 'route.updated'
    | 'upstreams.changed'
    | 'default-target.changed';
  routeId?: string;
  /** Target before (`null` when the route did not exist); for upstream changes, the upstream names. */
  from: string | null;
  /** Target after (`null` when the route was deleted). */
  to: string | null;
  before?: RouteSpec | TableSpec['upstreams'];
  after?: RouteSpec | TableSpec['upstreams'];
}

/** Differences between two table specs, route by route (by id), in the order of the new table. */
export function diffTables(before: TableSpec | undefined, after: TableSpec): TableChange[] {
  const changes: TableChange[] = [];
  if (before && before.defaultTarget !== after.defaultTarget) {
    changes.push({ action: 'default-target.changed', from: before.defaultTarget, to: after.defaultTarget });
  }
  if (before && !isDeepStrictEqual(before.upstreams, after.upstreams)) {
    changes.push({
      action: 'upstreams.changed',
      from: before.upstreams.map((u) => u.name).join(','),
      to: after.upstreams.map((u) => u.name).join(','),
      before: before.upstreams,
      after: after.upstreams,
    });
  }
  const old = new Map((before?.routes ?? []).map((r) => [r.id, r]));
  for (const r of after.routes) {
    const prev = old.get(r.id);
    old.delete(r.id);
    if (!prev) {
      if (before) changes.push({ action: 'route.created', routeId: r.id, from: null, to: r.target, after: r });
    } else if (!isDeepStrictEqual(prev, r)) {
      const onlyTarget = isDeepStrictEqual({ ...prev, target: r.target }, r);
      changes.push({
        action: onlyTarget ? 'route.retargeted' : 'route.updated',
        routeId: r.id,
        from: prev.target,
        to: r.target,
        ...(onlyTarget ? {} : { before: prev, after: r }),
      });
    }
  }
  for (const r of old.values())
    changes.push({ action: 'route.deleted', routeId: r.id, from: r.target, to: null, before: r });
  return changes;
}
