import { z } from 'zod';
import { CHANGE_SOURCES, type AuditEntry } from '../table/audit';
import type { AuditQuery, CommitOutcome, CommitRequest, ControlBackend, StoredVersion } from './backend';
import { Rollback, type ControlDatabase } from './database';

/** Channel of the version notifications; the payload is the new version number, never the table. */
export const TABLE_CHANNEL = 'strangler_table';

/** A `table_versions` row as read; anything else (a foreign writer, a manual edit) is refused by name. */
const VersionRow = z.object({
  version: z.coerce.number().int().positive(),
  spec: z.record(z.string(), z.unknown()),
  source_sha256: z.string().nullable(),
  actor: z.string(),
  source: z.enum(CHANGE_SOURCES),
  reason: z.string(),
});

/** A `table_versions` row that is not what this proxy writes. */
export class ForeignRowError extends Error {
  constructor(
    readonly version: number | undefined,
    readonly issues: Array<{ path: string; message: string }>,
  ) {
    super(`table_versions row ${version ?? '?'} is malformed`);
  }
}

/**
 * The fleet's control store in PostgreSQL (schema: migrations/proxy). A version is inserted as the newest
 * version + 1 in one transaction with its audit entries (and, for a plan step, under the runner's lease epoch);
 * the commit notifies `strangler_table` with the version number.
 */
export class PgBackend implements ControlBackend {
  readonly kind = 'postgres' as const;

  constructor(readonly db: ControlDatabase) {}

  async head(): Promise<StoredVersion | undefined> {
    const rows = await this.db.query(
      'SELECT version, spec, source_sha256, actor, source, reason FROM table_versions ORDER BY version DESC LIMIT 1',
    );
    if (rows.length === 0) return undefined;
    const parsed = VersionRow.safeParse(rows[0]);
    if (!parsed.success) {
      const version = Number((rows[0] as { version?: unknown }).version);
      throw new ForeignRowError(
        Number.isInteger(version) ? version : undefined,
        parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(row)', message: i.message })),
      );
    }
    const r = parsed.data;
    return {
      version: r.version,
      spec: r.spec,
      sourceSha256: r.source_sha256,
      actor: r.actor,
      source: r.source,
      reason: r.reason,
    };
  }

  commit(request: CommitRequest): Promise<CommitOutcome> {
    return this.db.transaction(async (client): Promise<CommitOutcome> => {
      if (request.fence) {
        const lease = await client.query(
          `SELECT 1 FROM plan_lease WHERE name = $1 AND epoch = $2 AND holder = $3 AND expires_at > clock_timestamp()
           FOR SHARE`,
          [request.fence.lease, request.fence.epoch, request.fence.holder],
        );
        if (lease.rowCount === 0) throw new Rollback<CommitOutcome>({ ok: false, reason: 'fenced' });
      }
      const conflict = new Rollback<CommitOutcome>({ ok: false, reason: 'conflict' });
      const inserted = await client
        .query(
          `INSERT INTO table_versions (version, spec, source_sha256, actor, source, reason)
           SELECT $1::bigint, $2::jsonb, $3::text, $4::text, $5::text, $6::text
           WHERE (SELECT coalesce(max(version), 0) FROM table_versions) = $1::bigint - 1`,
          [
            request.version,
            JSON.stringify(request.spec),
            request.sourceSha256,
            request.actor,
            request.source,
            request.reason,
          ],
        )
        .catch((err: { code?: string }) => {
          throw err.code === '23505' ? conflict : err; // another writer took the version first
        });
      if (inserted.rowCount === 0) throw conflict;
      if (request.reconciles) {
        const file = await client.query(
          'INSERT INTO reconciled_files (sha256, version) VALUES ($1, $2) ON CONFLICT DO NOTHING',
          [request.reconciles, request.version],
        );
        if (file.rowCount === 0) throw conflict; // another process reconciled this file content already
      }
      await insertAudit(client, request.version, request.entries);
      await client.query('SELECT pg_notify($1, $2)', [TABLE_CHANNEL, String(request.version)]);
      return { ok: true };
    });
  }

  async appendAudit(entries: readonly AuditEntry[], dedupeKey?: string): Promise<void> {
    if (entries.length === 0) return;
    await this.db.transaction(async (client) => {
      if (dedupeKey !== undefined) {
        const first = entries[0]!;
        const claimed = await client.query(
          `INSERT INTO audit_entries (version, route_id, dedupe_key, entry) VALUES ($1, $2, $3, $4::jsonb)
           ON CONFLICT (dedupe_key) DO NOTHING`,
          [first.version, first.routeId ?? null, dedupeKey, JSON.stringify(first)],
        );
        if (claimed.rowCount === 0) return;
        await insertAudit(client, first.version, entries.slice(1));
      } else await insertAudit(client, entries[0]!.version, entries);
    });
  }

  async readAudit(query: AuditQuery): Promise<AuditEntry[]> {
    const rows = await this.db.query<{ entry: AuditEntry }>(
      `SELECT entry FROM (
         SELECT id, entry FROM audit_entries WHERE $1::text IS NULL OR route_id = $1 ORDER BY id DESC LIMIT $2
       ) newest ORDER BY id`,
      [query.routeId ?? null, query.limit ?? 10_000],
    );
    return rows.map((r) => r.entry);
  }

  async fileReconciled(sha256: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 FROM reconciled_files WHERE sha256 = $1', [sha256])).length > 0;
  }

  async markReconciled(sha256: string, version: number): Promise<void> {
    await this.db.query('INSERT INTO reconciled_files (sha256, version) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
      sha256,
      version,
    ]);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function insertAudit(
  client: { query: (text: string, values: unknown[]) => Promise<unknown> },
  version: number,
  entries: readonly AuditEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  await client.query(
    `INSERT INTO audit_entries (version, route_id, entry)
     SELECT $1, e->>'routeId', e FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS t(e, n) ORDER BY n`,
    [version, JSON.stringify(entries)],
  );
}
