import type { AuditEntry } from '../table/audit';
import type { AuditQuery, CommitOutcome, CommitRequest, ControlBackend, StoredVersion } from './backend';

const MAX_AUDIT = 10_000;

/** Filters and limits audit entries (oldest first), as every backend answers. */
export function selectAudit(entries: readonly AuditEntry[], query: AuditQuery): AuditEntry[] {
  const matching = query.routeId === undefined ? entries : entries.filter((e) => e.routeId === query.routeId);
  return query.limit === undefined ? [...matching] : matching.slice(-query.limit);
}

/** A process without a state directory or control database: the table lives as long as the process. */
export class MemoryBackend implements ControlBackend {
  readonly kind = 'memory' as const;
  private latest: StoredVersion | undefined;
  private readonly audit: AuditEntry[] = [];
  private readonly reconciled = new Set<string>();
  private readonly dedupe = new Set<string>();

  head(): Promise<StoredVersion | undefined> {
    return Promise.resolve(this.latest);
  }

  commit(request: CommitRequest): Promise<CommitOutcome> {
    if (request.version !== (this.latest?.version ?? 0) + 1) return Promise.resolve({ ok: false, reason: 'conflict' });
    const { entries, reconciles, fence: _fence, ...stored } = request;
    this.latest = stored;
    if (reconciles) this.reconciled.add(reconciles);
    this.push(entries);
    return Promise.resolve({ ok: true });
  }

  appendAudit(entries: readonly AuditEntry[], dedupeKey?: string): Promise<void> {
    if (dedupeKey !== undefined) {
      if (this.dedupe.has(dedupeKey)) return Promise.resolve();
      this.dedupe.add(dedupeKey);
    }
    this.push(entries);
    return Promise.resolve();
  }

  readAudit(query: AuditQuery): Promise<AuditEntry[]> {
    return Promise.resolve(selectAudit(this.audit, query));
  }

  fileReconciled(sha256: string): Promise<boolean> {
    return Promise.resolve(this.reconciled.has(sha256));
  }

  markReconciled(sha256: string): Promise<void> {
    this.reconciled.add(sha256);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private push(entries: readonly AuditEntry[]): void {
    this.audit.push(...entries);
    if (this.audit.length > MAX_AUDIT) this.audit.splice(0, this.audit.length - MAX_AUDIT);
  }
}
