import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ProxyError } from '../errors';
import { AuditLog, type AuditEntry, type ChangeSource } from '../table/audit';
import { writeJsonState } from '../table/state-file';
import type { AuditQuery, CommitOutcome, CommitRequest, ControlBackend, StoredVersion } from './backend';

/** Shape of `route-table.json`. */
interface PersistedState {
  format: 1;
  version: number;
  savedAt: string;
  /** SHA-256 of the routes file the table was last reconciled with. */
  sourceSha256: string | null;
  table: unknown;
  actor?: string;
  source?: ChangeSource;
  reason?: string;
}

export const STATE_FILE = 'route-table.json';
export const AUDIT_FILE = 'audit.jsonl';

/**
 * One process's state in its state directory (development, or a single replica): the table in force in
 * `route-table.json` (written whole: temporary file and rename), the audit log in `audit.jsonl` (JSON lines). A
 * routes file counts as reconciled while it is the one the stored table was last reconciled with.
 */
export class FileBackend implements ControlBackend {
  readonly kind = 'file' as const;
  readonly stateFile: string;
  private readonly audit: AuditLog;

  constructor(
    stateDir: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    mkdirSync(stateDir, { recursive: true });
    this.stateFile = path.join(stateDir, STATE_FILE);
    this.audit = new AuditLog(path.join(stateDir, AUDIT_FILE));
  }

  head(): Promise<StoredVersion | undefined> {
    const state = this.read();
    if (!state) return Promise.resolve(undefined);
    return Promise.resolve({
      version: state.version,
      spec: state.table,
      sourceSha256: state.sourceSha256,
      actor: state.actor ?? `state:${this.stateFile}`,
      source: state.source ?? 'startup',
      reason: state.reason ?? 'restored from the state file',
    });
  }

  commit(request: CommitRequest): Promise<CommitOutcome> {
    const previous = this.read();
    if (request.version !== (previous?.version ?? 0) + 1) return Promise.resolve({ ok: false, reason: 'conflict' });
    this.write({
      format: 1,
      version: request.version,
      savedAt: this.now().toISOString(),
      sourceSha256: request.sourceSha256,
      table: request.spec,
      actor: request.actor,
      source: request.source,
      reason: request.reason,
    });
    try {
      this.audit.append(request.entries);
    } catch (err) {
      if (previous) this.write(previous);
      throw new ProxyError('PROXY_ERR_STATE_WRITE_FAILED', {
        message: `cannot append to the audit log: ${(err as Error).message}`,
        cause: err,
      });
    }
    return Promise.resolve({ ok: true });
  }

  appendAudit(entries: readonly AuditEntry[]): Promise<void> {
    try {
      this.audit.append(entries);
    } catch (err) {
      throw new ProxyError('PROXY_ERR_STATE_WRITE_FAILED', {
        message: `cannot append to the audit log: ${(err as Error).message}`,
        cause: err,
      });
    }
    return Promise.resolve();
  }

  readAudit(query: AuditQuery): Promise<AuditEntry[]> {
    return Promise.resolve(this.audit.read(query));
  }

  fileReconciled(sha256: string): Promise<boolean> {
    return Promise.resolve(this.read()?.sourceSha256 === sha256);
  }

  markReconciled(sha256: string): Promise<void> {
    const state = this.read();
    if (state) this.write({ ...state, sourceSha256: sha256, savedAt: this.now().toISOString() });
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private read(): PersistedState | undefined {
    try {
      const state = JSON.parse(readFileSync(this.stateFile, 'utf8')) as PersistedState;
      return state.format === 1 ? state : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new ProxyError('PROXY_ERR_TABLE_UNREADABLE', {
        message: `cannot read ${this.stateFile}: ${(err as Error).message}`,
        cause: err,
      });
    }
  }

  private write(state: PersistedState): void {
    writeJsonState(this.stateFile, state);
  }
}
