import type { CommitRequest } from '../control/backend';
import type { AuditEntry, AuditIdentity, ChangeSource } from './audit';
import type { CompiledTable } from './compile';
import type { TableIssue } from './issues';
import type { PlanStatus } from './plan-schema';
import type { RouteMode } from './schema';

/** Who changes the table, from where, and why (all three land in the audit log). */
export interface ChangeMeta {
  actor: string;
  source: ChangeSource;
  reason: string;
  /** Numbers behind the change (plan decisions), copied to its audit entries. */
  evidence?: unknown;
  /** The admin caller's subject, client and declared name, copied to its audit entries. */
  identity?: AuditIdentity;
}

/** Fields of a route changed by `RouteTableStore.updateRoute`; `undefined` keeps the current value. */
export interface RoutePatch {
  target?: string;
  mode?: RouteMode;
  weight?: number;
  /** Status of the route's plan (ignored when the route has none). */
  planStatus?: PlanStatus;
}

/** Conditions of a change: the version it must be based on, and the plan runner's fencing token. */
export interface ChangeConditions {
  /** The change is refused (409) unless the newest stored version is this one (`If-Match`). */
  expectedVersion?: number;
  /** The plan runner's lease: the change is stored only while this epoch is current. */
  fence?: CommitRequest['fence'];
}

/** The last change that was refused, with every issue. */
export interface RejectedChange {
  at: string;
  source: ChangeSource;
  actor: string;
  issues: TableIssue[];
}

/** Outcome of a change: the new table and its audit entries, or the issues (the table is unchanged). */
export type ApplyResult =
  { ok: true; table: CompiledTable; entries: AuditEntry[] } | { ok: false; issues: TableIssue[] };
