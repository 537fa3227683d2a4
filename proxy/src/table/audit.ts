import { appendFileSync, readFileSync } from 'node:fs';
import type { TableChange } from './diff';
import type { ReleaseSpec } from './schema';

/** Where a change came from. */
export const CHANGE_SOURCES = ['admin-api', 'file', 'startup', 'plan', 'store'] as const;
/** Where a change came from (`store`: a version in the control store this process refused). */
export type ChangeSource = (typeof CHANGE_SOURCES)[number];

/**
 * What an entry records: a change of the table; `plan.progress-reset` — the plan runner started a route's
 * step over instead of resuming it after a restart (the plan changed, or the progress file was unusable); or
 * `table.refused` — a version in the control store that a proxy process could not serve (it kept the last good).
 */
export type AuditAction = TableChange['action'] | 'plan.progress-reset' | 'table.refused';

/**
 * Who made an admin change, beyond `actor`: a person's verified subject and OAuth client (actor `oidc:<sub>`), or
 * the name an automation using the shared token declared in `X-Strangler-Actor` (actor `token:admin`; a claim).
 */
export interface AuditIdentity {
  subject?: string;
  clientId?: string;
  declaredActor?: string;
}

/** One line of the audit log (JSON lines, append-only). */
export interface AuditEntry extends Omit<TableChange, 'action'>, AuditIdentity {
  action: AuditAction;
  /** ISO-8601 time of the change. */
  at: string;
  /** Table version the change produced. */
  version: number;
  /**
   * Who made it: `oidc:<sub>` (a person's verified token), `token:admin` (the shared admin token), `file:<path>`,
   * `plan`, … (`open:<declared name>` on an admin API run without authentication).
   */
  actor: string;
  source: ChangeSource;
  reason: string;
  /** For changes read from a routes file rendered by Helm: the release and revision that rolled them out. */
  release?: ReleaseSpec;
  /** Numbers a plan decision was made on (entries of source `plan`). */
  evidence?: unknown;
}

/** Append-only JSON-lines audit log. */
export class AuditLog {
  constructor(readonly file: string) {}

  /** Appends entries in one write (one line each). */
  append(entries: readonly AuditEntry[]): void {
    if (entries.length === 0) return;
    appendFileSync(this.file, entries.map((e) => JSON.stringify(e) + '\n').join(''), { encoding: 'utf8', mode: 0o640 });
  }

  /** The newest `limit` entries, oldest first, optionally for one route only. */
  read(options: { limit?: number; routeId?: string } = {}): AuditEntry[] {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const entries: AuditEntry[] = [];
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const e = JSON.parse(line) as AuditEntry;
        if (options.routeId === undefined || e.routeId === options.routeId) entries.push(e);
      } catch {
        // a torn last line after a crash is skipped, never fatal
      }
    }
    return options.limit === undefined ? entries : entries.slice(-options.limit);
  }
}
