import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '@warmhouse/shared';
import { ProxyError } from '../errors';
import { LOG_EVENTS } from '../log-events';
import { keepPlanProgress } from '../plan/keep-progress';
import { AuditLog, type AuditAction, type AuditEntry, type ChangeSource } from './audit';
import { compileTable, type CompiledTable, type CompileResult, type TableIssue } from './compile';
import { diffTables, type TableChange } from './diff';
import { readTableFile } from './load';
import type { PlanStatus } from './plan-schema';
import type { ReleaseSpec, RouteMode, RouteSpec, TableSpec } from './schema';
import { writeJsonState } from './state-file';

/** Who changes the table, from where, and why (all three land in the audit log). */
export interface ChangeMeta {
  actor: string;
  source: ChangeSource;
  reason: string;
  /** Numbers behind the change (plan decisions), copied to its audit entries. */
  evidence?: unknown;
}

/** Fields of a route changed by {@link RouteTableStore.updateRoute}; `undefined` keeps the current value. */
export interface RoutePatch {
  target?: string;
  mode?: RouteMode;
  weight?: number;
  /** Status of the route's plan (ignored when the route has none). */
  planStatus?: PlanStatus;
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

/** Anything that can hand the forwarder the table in force; read once per request. */
export interface TableSource {
  readonly current: CompiledTable;
}

/** Shape of the persisted state file. */
interface PersistedState {
  format: 1;
  version: number;
  savedAt: string;
  /** SHA-256 of the routes file the table was last reconciled with. */
  sourceSha256: string | null;
  table: TableSpec;
}

/** Options of {@link RouteTableStore.open}. */
export interface StoreOptions {
  /** Routes file (YAML/JSON); watched by the caller, reloaded through {@link RouteTableStore.reloadFile}. */
  routesFile?: string;
  /** Directory for `route-table.json` (current table) and `audit.jsonl`; no persistence when absent. */
  stateDir?: string;
  /** Environment used to resolve `${VAR}` placeholders in upstream URLs. */
  env: NodeJS.ProcessEnv;
  logger: Logger;
  now?: () => Date;
}

const STATE_FILE = 'route-table.json';
const AUDIT_FILE = 'audit.jsonl';

function readState(file: string): PersistedState | undefined {
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as PersistedState;
    return state.format === 1 ? state : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ProxyError('PROXY_ERR_TABLE_UNREADABLE', {
      message: `cannot read ${file}: ${(err as Error).message}`,
      cause: err,
    });
  }
}

/**
 * Compiles a routes file's table; routes whose plan the file leaves unchanged keep their plan progress from the
 * table in force ({@link keepPlanProgress}). Should the table with the kept progress not compile (the file
 * removed the upstream a route stands on), the file's table is taken as it is.
 */
function compileFileTable(
  data: unknown,
  inForce: TableSpec | undefined,
  options: { env: NodeJS.ProcessEnv; version: number },
): { result: CompileResult; kept: string[] } {
  const result = compileTable(data, options);
  if (!result.ok || !inForce) return { result, kept: [] };
  const { spec, kept } = keepPlanProgress(inForce, result.table.spec);
  if (kept.length === 0) return { result, kept };
  const merged = compileTable(spec, options);
  return merged.ok ? { result: merged, kept } : { result, kept: [] };
}

/** The reason of a file change, naming the routes whose plan progress it kept. */
function fileReason(reason: string, kept: readonly string[]): string {
  return kept.length === 0 ? reason : `${reason}; plan progress kept: ${kept.join(', ')}`;
}

function rejected(issues: TableIssue[]): ProxyError {
  return new ProxyError('PROXY_ERR_INVALID_TABLE', {
    message: `invalid route table:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`,
    details: { issues },
  });
}

/**
 * A person's change of a route's target, mode or weight pauses the route's active plan (in the same table
 * version): the plan must never undo a manual decision. `strangler plan resume` hands the route back to it.
 */
function pauseOnManualChange(before: RouteSpec, after: RouteSpec, meta: ChangeMeta): RouteSpec {
  if (meta.source === 'plan' || before.plan?.status !== 'active') return after;
  const moved = before.target !== after.target || before.mode !== after.mode || before.weight !== after.weight;
  return moved ? { ...after, plan: { ...before.plan, status: 'paused' } } : after;
}

/**
 * Holds the table in force and is the only writer of it: every change is validated whole, persisted,
 * audited, then swapped in atomically (one reference assignment, so a request that already read the
 * table keeps the one it started with). A rejected change leaves the table untouched.
 */
export class RouteTableStore implements TableSource {
  private table: CompiledTable;
  private sourceSha256: string | null;
  private readonly listeners: Array<(table: CompiledTable, entries: readonly AuditEntry[], meta: ChangeMeta) => void> =
    [];
  private readonly rejectListeners: Array<(rejected: RejectedChange) => void> = [];
  private readonly audit: AuditLog | undefined;
  private readonly stateFile: string | undefined;
  /** The last refused change (file reload or admin request), for the admin API and metrics. */
  lastRejected: RejectedChange | undefined;

  private constructor(
    private readonly options: StoreOptions,
    initial: { table: CompiledTable; sourceSha256: string | null },
  ) {
    this.table = initial.table;
    this.sourceSha256 = initial.sourceSha256;
    if (options.stateDir) {
      mkdirSync(options.stateDir, { recursive: true });
      this.stateFile = path.join(options.stateDir, STATE_FILE);
      this.audit = new AuditLog(path.join(options.stateDir, AUDIT_FILE));
    }
  }

  /**
   * Builds the table in force at start-up. The persisted table wins while the routes file is the one it
   * was reconciled with (so toggles survive a restart); a routes file edited while the proxy was stopped
   * wins over it (audited as a file change). A bad first load throws: the proxy refuses to start.
   */
  static open(options: StoreOptions): RouteTableStore {
    const log = options.logger;
    const now = options.now ?? (() => new Date());
    const stateFile = options.stateDir ? path.join(options.stateDir, STATE_FILE) : undefined;
    const state = stateFile ? readState(stateFile) : undefined;
    const file = options.routesFile ? readTableFile(options.routesFile) : undefined;

    let restored: CompiledTable | undefined;
    if (state) {
      const result = compileTable(state.table, { env: options.env, version: state.version });
      if (!result.ok) throw rejected(result.issues.map((i) => ({ ...i, path: `${stateFile} ${i.path}` })));
      restored = result.table;
    }
    if (file && !file.ok && !restored)
      throw rejected(file.issues.map((i) => ({ ...i, path: `${file.path} ${i.path}` })));

    if (restored && (!file || !file.ok || file.sha256 === state!.sourceSha256)) {
      const store = new RouteTableStore(options, { table: restored, sourceSha256: state!.sourceSha256 });
      if (file && !file.ok)
        store.lastRejected = {
          at: now().toISOString(),
          source: 'file',
          actor: `file:${file.path}`,
          issues: file.issues,
        };
      log.info(
        { event: LOG_EVENTS.stateRestored, version: restored.version, stateFile },
        'route table restored from state',
      );
      return store;
    }
    if (!file || !file.ok) throw new Error('unreachable: no table source');
    const version = (state?.version ?? 0) + 1;
    const { result, kept } = compileFileTable(file.data, restored?.spec, { env: options.env, version });
    if (!result.ok) {
      if (!restored) throw rejected(result.issues.map((i) => ({ ...i, path: `${file.path} ${i.path}` })));
      const store = new RouteTableStore(options, { table: restored, sourceSha256: state!.sourceSha256 });
      store.lastRejected = {
        at: now().toISOString(),
        source: 'file',
        actor: `file:${file.path}`,
        issues: result.issues,
      };
      log.error(
        { event: LOG_EVENTS.tableRejected, issues: result.issues },
        'routes file rejected; persisted table kept',
      );
      return store;
    }
    const store = new RouteTableStore(options, { table: result.table, sourceSha256: file.sha256 });
    const meta: ChangeMeta = {
      actor: `file:${file.path}`,
      source: 'startup',
      reason: restored ? fileReason('routes file changed while the proxy was stopped', kept) : 'initial load',
    };
    const changes = restored
      ? diffTables(restored.spec, result.table.spec)
      : [{ action: 'table.loaded' as const, from: null, to: null }];
    store.record(result.table, changes, meta, file.sha256, undefined);
    return store;
  }

  /** The table in force. */
  get current(): CompiledTable {
    return this.table;
  }

  /** Called after every applied change (metrics, connection pools). */
  onChange(listener: (table: CompiledTable, entries: readonly AuditEntry[], meta: ChangeMeta) => void): void {
    this.listeners.push(listener);
  }

  /** Called after every refused change. */
  onReject(listener: (rejected: RejectedChange) => void): void {
    this.rejectListeners.push(listener);
  }

  /** Replaces the whole table. */
  apply(spec: unknown, meta: ChangeMeta): ApplyResult {
    return this.commit(spec, meta, this.sourceSha256);
  }

  /** Points an existing route at another upstream. */
  setTarget(routeId: string, target: string, meta: ChangeMeta): ApplyResult {
    const spec = this.table.spec;
    const index = spec.routes.findIndex((r) => r.id === routeId);
    if (index === -1)
      throw new ProxyError('PROXY_ERR_ROUTE_NOT_FOUND', { message: `no route "${routeId}"`, details: { routeId } });
    const routes = spec.routes.map((r, i) => (i === index ? pauseOnManualChange(r, { ...r, target }, meta) : r));
    return this.relativeTo(index, this.commit({ ...spec, routes }, meta, this.sourceSha256));
  }

  /**
   * Changes the target, mode or canary weight of an existing route in one table version (one audit entry).
   * Fields left out keep their value.
   */
  updateRoute(routeId: string, patch: RoutePatch, meta: ChangeMeta): ApplyResult {
    const spec = this.table.spec;
    const index = spec.routes.findIndex((r) => r.id === routeId);
    if (index === -1)
      throw new ProxyError('PROXY_ERR_ROUTE_NOT_FOUND', { message: `no route "${routeId}"`, details: { routeId } });
    const { planStatus, ...fields } = patch;
    const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    const routes = spec.routes.map((r, i) => {
      if (i !== index) return r;
      const next = { ...r, ...defined };
      if (planStatus !== undefined && r.plan) return { ...next, plan: { ...r.plan, status: planStatus } };
      return pauseOnManualChange(r, next, meta);
    });
    return this.relativeTo(index, this.commit({ ...spec, routes }, meta, this.sourceSha256));
  }

  /** Creates or replaces one route; issues name fields of the route itself (`target`, `methods[0]`...). */
  putRoute(routeId: string, input: unknown, meta: ChangeMeta): ApplyResult & { created?: boolean } {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      return this.refuse([{ path: '(body)', message: 'must be a JSON object (a route)' }], meta);
    }
    const body = 'id' in input ? input : { ...input, id: routeId };
    if ((body as { id: unknown }).id !== routeId) {
      return this.refuse([{ path: 'id', message: `must equal the id in the URL ("${routeId}")` }], meta);
    }
    const spec = this.table.spec;
    const existing = spec.routes.findIndex((r) => r.id === routeId);
    const routes: unknown[] =
      existing === -1 ? [...spec.routes, body] : spec.routes.map((r, i) => (i === existing ? body : r));
    const index = existing === -1 ? routes.length - 1 : existing;
    return {
      ...this.relativeTo(index, this.commit({ ...spec, routes }, meta, this.sourceSha256)),
      created: existing === -1,
    };
  }

  /** Removes a route (its requests then go to the default target). */
  deleteRoute(routeId: string, meta: ChangeMeta): ApplyResult {
    const spec = this.table.spec;
    if (!spec.routes.some((r) => r.id === routeId)) {
      throw new ProxyError('PROXY_ERR_ROUTE_NOT_FOUND', { message: `no route "${routeId}"`, details: { routeId } });
    }
    return this.commit({ ...spec, routes: spec.routes.filter((r) => r.id !== routeId) }, meta, this.sourceSha256);
  }

  /** Re-reads the routes file; unchanged content is a no-op, a bad file is refused and remembered. */
  reloadFile(): ApplyResult | { ok: true; unchanged: true } {
    const routesFile = this.options.routesFile;
    if (!routesFile) return { ok: true, unchanged: true };
    const file = readTableFile(routesFile);
    const meta: ChangeMeta = { actor: `file:${routesFile}`, source: 'file', reason: 'routes file changed' };
    if (file.sha256 !== undefined && file.sha256 === this.sourceSha256) return { ok: true, unchanged: true };
    if (!file.ok) return this.refuse(file.issues, meta);
    const version = this.table.version + 1;
    const { result, kept } = compileFileTable(file.data, this.table.spec, { env: this.options.env, version });
    return this.commitCompiled(result, { ...meta, reason: fileReason(meta.reason, kept) }, file.sha256);
  }

  /**
   * Appends an audit entry that changes nothing in the table (the plan runner's `plan.progress-reset`), so the
   * log says why a step's dwell time started again. Without a state directory there is no log: a no-op.
   */
  note(action: Exclude<AuditAction, TableChange['action']>, routeId: string | undefined, meta: ChangeMeta): AuditEntry {
    const target =
      routeId === undefined ? null : (this.table.spec.routes.find((r) => r.id === routeId)?.target ?? null);
    const entry: AuditEntry = {
      at: (this.options.now ?? (() => new Date()))().toISOString(),
      version: this.table.version,
      actor: meta.actor,
      source: meta.source,
      reason: meta.reason,
      action,
      ...(routeId === undefined ? {} : { routeId }),
      from: target,
      to: target,
      ...(meta.evidence === undefined ? {} : { evidence: meta.evidence }),
    };
    try {
      this.audit?.append([entry]);
    } catch (err) {
      throw new ProxyError('PROXY_ERR_STATE_WRITE_FAILED', {
        message: `cannot append to the audit log: ${(err as Error).message}`,
        cause: err,
      });
    }
    return entry;
  }

  /** Audit entries, oldest first. */
  readAudit(options: { limit?: number; routeId?: string } = {}): AuditEntry[] {
    return this.audit?.read(options) ?? [];
  }

  private relativeTo<T extends ApplyResult>(index: number, result: T): T {
    if (result.ok) return result;
    const prefix = `routes[${index}].`;
    const issues = result.issues.map((i) =>
      i.path.startsWith(prefix) ? { ...i, path: i.path.slice(prefix.length) } : i,
    );
    return { ...result, issues };
  }

  private refuse(issues: TableIssue[], meta: ChangeMeta): { ok: false; issues: TableIssue[] } {
    const now = (this.options.now ?? (() => new Date()))();
    const rejectedChange: RejectedChange = { at: now.toISOString(), source: meta.source, actor: meta.actor, issues };
    this.lastRejected = rejectedChange;
    for (const l of this.rejectListeners) l(rejectedChange);
    this.options.logger.warn(
      { event: LOG_EVENTS.tableRejected, source: meta.source, actor: meta.actor, issues },
      'route table change rejected',
    );
    return { ok: false, issues };
  }

  private commit(input: unknown, meta: ChangeMeta, sourceSha256: string | null): ApplyResult {
    const result = compileTable(input, { env: this.options.env, version: this.table.version + 1 });
    return this.commitCompiled(result, meta, sourceSha256);
  }

  private commitCompiled(result: CompileResult, meta: ChangeMeta, sourceSha256: string | null): ApplyResult {
    if (!result.ok) return this.refuse(result.issues, meta);
    const changes = diffTables(this.table.spec, result.table.spec);
    if (changes.length === 0) {
      if (sourceSha256 !== this.sourceSha256) {
        this.sourceSha256 = sourceSha256;
        this.writeState(this.stateOf(this.table, sourceSha256, new Date().toISOString()));
      }
      return { ok: true, table: this.table, entries: [] };
    }
    const entries = this.record(result.table, changes, meta, sourceSha256, this.persisted());
    this.table = result.table;
    this.sourceSha256 = sourceSha256;
    this.options.logger.info(
      {
        event: LOG_EVENTS.tableApplied,
        version: result.table.version,
        source: meta.source,
        actor: meta.actor,
        reason: meta.reason,
        changes,
      },
      'route table applied',
    );
    for (const l of this.listeners) l(result.table, entries, meta);
    return { ok: true, table: result.table, entries };
  }

  /** Persists `next`, then appends its audit entries; if the audit append fails the old state is put back. */
  private record(
    next: CompiledTable,
    changes: TableChange[],
    meta: ChangeMeta,
    sourceSha256: string | null,
    previousState: PersistedState | undefined,
  ): AuditEntry[] {
    const at = (this.options.now ?? (() => new Date()))().toISOString();
    const release = meta.source === 'file' || meta.source === 'startup' ? next.spec.release : undefined;
    const entries: AuditEntry[] = changes.map((c) => ({
      at,
      version: next.version,
      actor: meta.actor,
      source: meta.source,
      reason: release ? `${meta.reason} (${releaseLabel(release)})` : meta.reason,
      ...(release ? { release } : {}),
      ...c,
      ...(meta.evidence === undefined ? {} : { evidence: meta.evidence }),
    }));
    this.writeState(this.stateOf(next, sourceSha256, at));
    try {
      this.audit?.append(entries);
    } catch (err) {
      if (previousState) this.writeState(previousState);
      throw new ProxyError('PROXY_ERR_STATE_WRITE_FAILED', {
        message: `cannot append to the audit log: ${(err as Error).message}`,
        cause: err,
      });
    }
    return entries;
  }

  private stateOf(table: CompiledTable, sourceSha256: string | null, savedAt: string): PersistedState {
    return { format: 1, version: table.version, savedAt, sourceSha256, table: table.spec };
  }

  private persisted(): PersistedState | undefined {
    return this.stateFile ? readState(this.stateFile) : undefined;
  }

  private writeState(state: PersistedState): void {
    if (this.stateFile) writeJsonState(this.stateFile, state);
  }
}

/** `helm release warm-house revision 7` */
function releaseLabel(release: ReleaseSpec): string {
  return `helm release ${release.name} revision ${release.revision}`;
}
