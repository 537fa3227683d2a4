import type { AuditEntry, ChangeSource } from '../table/audit';

/** One version of the route table as the control store keeps it (the spec is validated when it is adopted). */
export interface StoredVersion {
  version: number;
  /** The table spec as stored; a process compiles it before serving it and refuses it when it does not compile. */
  spec: unknown;
  /** SHA-256 of the routes file this version was last reconciled with. */
  sourceSha256: string | null;
  actor: string;
  source: ChangeSource;
  reason: string;
}

/** A new version to store: `version` must be one more than the newest stored version, or the commit conflicts. */
export interface CommitRequest extends StoredVersion {
  /** Audit entries of the change, stored with it (all or nothing). */
  entries: readonly AuditEntry[];
  /** A routes file content this version reconciles (so no process applies that content again). */
  reconciles?: string;
  /** The plan runner's fencing token: the commit is refused unless this lease epoch is still the current one. */
  fence?: { lease: string; epoch: number; holder: string };
}

/** `conflict`: another change took that version first; `fenced`: the fencing token is no longer current. */
export type CommitOutcome = { ok: true } | { ok: false; reason: 'conflict' | 'fenced' };

/** Where reads of the audit log are narrowed. */
export interface AuditQuery {
  limit?: number;
  routeId?: string;
}

/**
 * Where the route table's versions and the audit log are kept. `postgres` is the fleet's control store (every
 * proxy process shares it); `file` keeps one process's state in its state directory; `memory` keeps nothing.
 * Every method may throw `PROXY_ERR_CONTROL_STORE_UNAVAILABLE` when the store cannot be reached.
 */
export interface ControlBackend {
  readonly kind: 'postgres' | 'file' | 'memory';
  /** The newest stored version; `undefined` when nothing was stored yet. */
  head(): Promise<StoredVersion | undefined>;
  /** Stores a version and its audit entries atomically, then tells every subscriber. */
  commit(request: CommitRequest): Promise<CommitOutcome>;
  /** Appends entries that change no version; with `dedupeKey`, an entry already stored under it is not added again. */
  appendAudit(entries: readonly AuditEntry[], dedupeKey?: string): Promise<void>;
  /** The newest `limit` entries, oldest first. */
  readAudit(query: AuditQuery): Promise<AuditEntry[]>;
  /** Whether a routes file with this content has already been reconciled into the store. */
  fileReconciled(sha256: string): Promise<boolean>;
  /** Records that a routes file content was reconciled without changing the table (it matched the table in force). */
  markReconciled(sha256: string, version: number): Promise<void>;
  close(): Promise<void>;
}
