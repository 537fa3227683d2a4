import type { CommitRequest } from '../control/backend';
import type { AuditAction, AuditEntry } from './audit';
import type { ChangeConditions, ChangeMeta } from './change';
import type { CompiledTable } from './compile';
import type { TableChange } from './diff';
import type { ReleaseSpec, TableSpec } from './schema';

// What a change writes, pure: its audit entries, and the commit request that stores them with the version.

/** `helm release warm-house revision 7` */
function releaseLabel(release: ReleaseSpec): string {
  return `helm release ${release.name} revision ${release.revision}`;
}

/**
 * One audit entry per change of the table, made `at` (ISO-8601). Changes read from a routes file rendered by
 * Helm name its release and revision.
 */
export function changeEntries(options: {
  table: CompiledTable;
  changes: readonly TableChange[];
  meta: ChangeMeta;
  at: string;
}): AuditEntry[] {
  const { table, meta } = options;
  const release = meta.source === 'file' || meta.source === 'startup' ? table.spec.release : undefined;
  return options.changes.map((c) => ({
    at: options.at,
    version: table.version,
    actor: meta.actor,
    ...meta.identity,
    source: meta.source,
    reason: release ? `${meta.reason} (${releaseLabel(release)})` : meta.reason,
    ...(release ? { release } : {}),
    ...c,
    ...(meta.evidence === undefined ? {} : { evidence: meta.evidence }),
  }));
}

/** An audit entry that changes nothing in the table (`spec`: the one in force, if any), made `at`. */
export function noteEntry(options: {
  action: Exclude<AuditAction, TableChange['action']>;
  routeId: string | undefined;
  meta: ChangeMeta;
  table: Pick<CompiledTable, 'spec' | 'version'> | undefined;
  at: string;
}): AuditEntry {
  const { routeId, meta, table } = options;
  const target = routeId === undefined ? null : (table?.spec.routes.find((r) => r.id === routeId)?.target ?? null);
  return {
    at: options.at,
    version: table?.version ?? 0,
    actor: meta.actor,
    ...meta.identity,
    source: meta.source,
    reason: meta.reason,
    action: options.action,
    ...(routeId === undefined ? {} : { routeId }),
    from: target,
    to: target,
    ...(meta.evidence === undefined ? {} : { evidence: meta.evidence }),
  };
}

/** The request storing `spec` as `version`, with its audit entries, the routes file it reconciles and its fence. */
export function commitRequest(options: {
  version: number;
  spec: TableSpec;
  sourceSha256: string | null;
  meta: ChangeMeta;
  entries: AuditEntry[];
  reconciles: string | undefined;
  conditions: ChangeConditions | undefined;
}): CommitRequest {
  const { meta, reconciles, conditions } = options;
  return {
    version: options.version,
    spec: options.spec,
    sourceSha256: options.sourceSha256,
    actor: meta.actor,
    source: meta.source,
    reason: meta.reason,
    entries: options.entries,
    ...(reconciles ? { reconciles } : {}),
    ...(conditions?.fence ? { fence: conditions.fence } : {}),
  };
}
