import type { Logger } from '@warmhouse/shared';
import type { ControlBackend, StoredVersion } from '../control/backend';
import { FileBackend } from '../control/file-backend';
import { MemoryBackend } from '../control/memory-backend';
import { ForeignRowError } from '../control/pg-backend';
import { ProxyError } from '../errors';
import { LOG_EVENTS } from '../log-events';
import type { AuditAction, AuditEntry } from './audit';
import type { ApplyResult, ChangeConditions, ChangeMeta, RejectedChange, RoutePatch } from './change';
import * as commands from './commands';
import type { CompiledTable } from './compile';
import { diffTables, type TableChange } from './diff';
import { inFile, type TableIssue } from './issues';
import { readTableFile, type LoadedFile } from './load';
import { changeEntries, commitRequest, noteEntry } from './persist';
import { compileRoutesFile, headStep, reconcileFile, refusedMeta, startupFileStep } from './reconcile';

export type { ApplyResult, ChangeConditions, ChangeMeta, RejectedChange, RoutePatch } from './change';

/** Anything that can hand the forwarder the table in force; read once per request. */
export interface TableSource {
  readonly current: CompiledTable;
}

/** Where the table in force came from: the store, or the routes file while the store was unreachable at start. */
export type ServingFrom = 'store' | 'routes-file';

/** Options of {@link RouteTableStore.open}. */
export interface StoreOptions {
  /** Routes file (YAML/JSON); watched by the caller, reloaded through {@link RouteTableStore.reloadFile}. */
  routesFile?: string;
  /** Where versions and the audit log live; default: `stateDir` files, or memory without one. */
  backend?: ControlBackend;
  /** Directory for `route-table.json` and `audit.jsonl` when no backend is given. */
  stateDir?: string;
  /** Environment used to resolve `${VAR}` placeholders in upstream URLs. */
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** The clock of audit entries and refusals. */
  now: () => Date;
}

type ChangeListener = (table: CompiledTable, entries: readonly AuditEntry[], meta: ChangeMeta) => void;

/** A change to commit: the command building the next table from the one in force, and how to store it. */
interface ChangeJob {
  meta: ChangeMeta;
  command: commands.Command;
  conditions?: ChangeConditions;
  /** Routes file content this change reconciles. */
  reconciles?: string;
  /** The change may be made while the table in force is not from the store (the first reconciliation). */
  fromFile?: boolean;
}

const MAX_ATTEMPTS = 8;

function rejected(issues: TableIssue[]): ProxyError {
  return new ProxyError('PROXY_ERR_INVALID_TABLE', {
    message: `invalid route table:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`,
    details: { issues },
  });
}

/**
 * Holds the table in force and is the only writer of it. Every change is validated whole, committed to the
 * control backend as the next version (with its audit entries, in one transaction), then swapped in atomically
 * (one reference assignment, so a request that already read the table keeps the one it started with). Other
 * processes' versions arrive through {@link sync} (the caller runs it on every notification and poll) and are
 * compiled before they are served: a version that does not compile is refused, audited, and the last good kept.
 *
 * Concurrency is optimistic: a change is computed from the newest version this process knows and stored as that
 * version + 1; when another process got there first the store is re-read and the change computed again, unless the
 * caller named the version it based its change on (`expectedVersion`, the admin API's `If-Match`): then it is
 * refused with PROXY_ERR_VERSION_CONFLICT naming the current version.
 */
export class RouteTableStore implements TableSource {
  private table: CompiledTable | undefined;
  private sourceSha256: string | null = null;
  /** The newest version known in the store (served or refused). */
  private headVersion = 0;
  private refusedVersion: number | undefined;
  private serving: ServingFrom = 'store';
  /** The routes file has not yet been checked against the store (start-up, or a start while it was down). */
  private fileCheckPending = true;
  private syncRun: Promise<void> | undefined;
  private syncQueued = false;
  private readonly listeners: ChangeListener[] = [];
  private readonly rejectListeners: Array<(rejected: RejectedChange) => void> = [];
  readonly backend: ControlBackend;
  /** The last refused change (file reload, admin request or stored version), for the admin API and metrics. */
  lastRejected: RejectedChange | undefined;

  private constructor(private readonly options: StoreOptions) {
    this.backend =
      options.backend ?? (options.stateDir ? new FileBackend(options.stateDir, options.now) : new MemoryBackend());
  }

  /**
   * Builds the table in force at start-up from the store's newest version and the routes file: a routes file
   * content the store has not seen yet is reconciled into it as a new version (the persisted table wins over a
   * file it was already reconciled with, so toggles survive restarts). A store that cannot be reached leaves the
   * process serving the routes file ({@link servingFrom}) until {@link sync} reaches it. A bad first load throws:
   * the proxy refuses to start.
   */
  static async open(options: StoreOptions): Promise<RouteTableStore> {
    const store = new RouteTableStore(options);
    try {
      await store.catchUp(true);
    } catch (err) {
      if (!(err instanceof ProxyError) || err.proxyCode !== 'PROXY_ERR_CONTROL_STORE_UNAVAILABLE') throw err;
      store.serveRoutesFile(err);
    }
    return store;
  }

  /** The table in force. */
  get current(): CompiledTable {
    return this.table!;
  }

  /** Whether the table in force is the store's, or the routes file's while the store could not be reached. */
  get servingFrom(): ServingFrom {
    return this.serving;
  }

  /** The newest version known in the store (what an `If-Match` must name). */
  get storeVersion(): number {
    return this.headVersion;
  }

  /** Called after every applied change, local or from another process (metrics, connection pools). */
  onChange(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  /** Called after every refused change. */
  onReject(listener: (rejected: RejectedChange) => void): void {
    this.rejectListeners.push(listener);
  }

  /**
   * Catches up with the store: serves its newest version when it is newer than the one in force (or refuses it),
   * and reconciles the routes file the first time the store is reached. Calls made while one runs are folded
   * into one more run. Throws PROXY_ERR_CONTROL_STORE_UNAVAILABLE when the store cannot be reached.
   */
  sync(): Promise<void> {
    if (this.syncRun) {
      this.syncQueued = true;
      return this.syncRun;
    }
    const run = async () => {
      try {
        do {
          this.syncQueued = false;
          await this.catchUp(false);
        } while (this.syncQueued);
      } finally {
        this.syncRun = undefined;
      }
    };
    this.syncRun = run();
    return this.syncRun;
  }

  /** Replaces the whole table. */
  apply(spec: unknown, meta: ChangeMeta, conditions?: ChangeConditions): Promise<ApplyResult> {
    return this.change({ meta, conditions, command: commands.replaceTable(spec) });
  }

  /** Points an existing route at another upstream. */
  setTarget(routeId: string, target: string, meta: ChangeMeta, conditions?: ChangeConditions): Promise<ApplyResult> {
    return this.updateRoute(routeId, { target }, meta, conditions);
  }

  /**
   * Changes the target, mode or canary weight of an existing route in one table version (one audit entry).
   * Fields left out keep their value.
   */
  updateRoute(
    routeId: string,
    patch: RoutePatch,
    meta: ChangeMeta,
    conditions?: ChangeConditions,
  ): Promise<ApplyResult> {
    return this.change({ meta, conditions, command: commands.updateRoute(routeId, patch, meta) });
  }

  /** Creates or replaces one route; issues name fields of the route itself (`target`, `methods[0]`...). */
  async putRoute(
    routeId: string,
    input: unknown,
    meta: ChangeMeta,
    conditions?: ChangeConditions,
  ): Promise<ApplyResult & { created?: boolean }> {
    const body = commands.routeBody(routeId, input);
    if (!body.ok) return this.refuse(body.issues, meta);
    const put = commands.putRoute(routeId, body.body);
    let created = false;
    const command: commands.Command = (base, options) => {
      const built = put(base, options);
      created = built.created ?? false;
      return built;
    };
    const result = await this.change({ meta, conditions, command });
    return { ...result, created };
  }

  /** Removes a route (its requests then go to the default target). */
  deleteRoute(routeId: string, meta: ChangeMeta, conditions?: ChangeConditions): Promise<ApplyResult> {
    return this.change({ meta, conditions, command: commands.deleteRoute(routeId) });
  }

  /** Re-reads the routes file; content the table was reconciled with is a no-op, a bad file is refused. */
  async reloadFile(): Promise<ApplyResult | { ok: true; unchanged: true }> {
    const routesFile = this.options.routesFile;
    if (!routesFile) return { ok: true, unchanged: true };
    const file = readTableFile(routesFile);
    const meta: ChangeMeta = { actor: `file:${routesFile}`, source: 'file', reason: 'routes file changed' };
    if (file.sha256 !== undefined && file.sha256 === this.sourceSha256) return { ok: true, unchanged: true };
    if (!file.ok) return this.refuse(file.issues, meta);
    return this.reconcile(file, meta);
  }

  /**
   * Appends an audit entry that changes nothing in the table (the plan runner's `plan.progress-reset`), so the
   * log says why a step's dwell time started again. `dedupeKey`: an entry the fleet should hold once.
   */
  async note(
    action: Exclude<AuditAction, TableChange['action']>,
    routeId: string | undefined,
    meta: ChangeMeta,
    dedupeKey?: string,
  ): Promise<AuditEntry> {
    const entry = noteEntry({ action, routeId, meta, table: this.table, at: this.isoNow() });
    await this.backend.appendAudit([entry], dedupeKey);
    return entry;
  }

  /** Audit entries, oldest first. */
  readAudit(options: { limit?: number; routeId?: string } = {}): Promise<AuditEntry[]> {
    return this.backend.readAudit(options);
  }

  private isoNow(): string {
    return this.options.now().toISOString();
  }

  /** Serves the store's newest version, then (the first time the store is reached) reconciles the routes file. */
  private async catchUp(startup: boolean): Promise<void> {
    await this.adoptHead(startup);
    if (this.fileCheckPending) await this.reconcileStartupFile();
    // another process may have stored the routes file between the first look and the reconciliation
    if (!this.table) await this.adoptHead(startup);
    if (!this.table) throw rejected([{ path: '(table)', message: 'no routes file and nothing stored' }]);
  }

  /** Serves the store's newest version when it is newer than the one in force (or refuses it). */
  private async adoptHead(startup: boolean): Promise<void> {
    const head = await this.readHead();
    const known = { headVersion: this.headVersion, table: this.table, fromStore: this.serving === 'store' };
    const step = headStep(head, known, this.options.env);
    if (step.kind === 'none') return;
    this.headVersion = Math.max(this.headVersion, step.head.version);
    if (step.kind === 'serve') this.install(step.table, [], step.head, step.head.sourceSha256);
    else if (startup && this.backend instanceof FileBackend)
      throw rejected(inFile(this.backend.stateFile, step.issues));
    else await this.refuseStored(step.head.version, step.issues);
  }

  /** The store's newest version; a malformed row is refused (and counted as the newest version). */
  private async readHead(): Promise<StoredVersion | undefined> {
    try {
      return await this.backend.head();
    } catch (err) {
      if (!(err instanceof ForeignRowError)) throw err;
      if (err.version !== undefined) this.headVersion = Math.max(this.headVersion, err.version);
      await this.refuseStored(err.version ?? 0, err.issues);
      return undefined;
    }
  }

  /** Start-up: a routes file content the store has not seen becomes the next version. */
  private async reconcileStartupFile(): Promise<void> {
    const routesFile = this.options.routesFile;
    const file = routesFile ? readTableFile(routesFile) : undefined;
    const step = startupFileStep({ file, hasTable: this.table !== undefined, at: this.isoNow() });
    if (step.kind === 'fail') throw rejected(step.issues);
    if (step.kind === 'reject') this.lastRejected = step.rejected;
    if (step.kind !== 'reconcile' || (await this.backend.fileReconciled(step.file.sha256))) {
      this.fileCheckPending = false;
      return;
    }
    const result = await this.reconcile(step.file, step.meta);
    this.fileCheckPending = false;
    if (!result.ok) {
      if (!this.table) throw rejected(inFile(step.file.path, result.issues));
      this.options.logger.error(
        { event: LOG_EVENTS.tableRejected, issues: result.issues },
        'routes file rejected; stored table kept',
      );
    }
  }

  /** Commits a routes file's table (plan progress kept where its plan is unchanged). */
  private reconcile(file: LoadedFile & { ok: true }, meta: ChangeMeta): Promise<ApplyResult> {
    const command = reconcileFile(file.data, meta.reason);
    return this.change({ meta, command, reconciles: file.sha256, fromFile: true });
  }

  /** The store could not be reached at start-up: serve the routes file until {@link sync} reaches it. */
  private serveRoutesFile(cause: ProxyError): void {
    const file = this.options.routesFile ? readTableFile(this.options.routesFile) : undefined;
    if (!file) throw cause;
    const result = compileRoutesFile(file, this.options.env);
    if (!result.ok) throw rejected(result.issues);
    this.table = result.table;
    this.serving = 'routes-file';
    this.options.logger.warn(
      { event: LOG_EVENTS.controlStoreUnavailable, err: cause, routesFile: file.path },
      'control store unreachable at start-up: serving the routes file until it can be reached',
    );
  }

  /**
   * Commits one change: builds the next table from the newest version known, stores it as that version + 1,
   * serves it. Lost races are retried from the newer version, unless the caller named its base version.
   */
  private async change(job: ChangeJob): Promise<ApplyResult> {
    const expected = job.conditions?.expectedVersion;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (this.serving !== 'store' && !job.fromFile) {
        throw new ProxyError('PROXY_ERR_CONTROL_STORE_UNAVAILABLE', {
          message: 'the control store has not been reached since start-up; this process serves the routes file',
        });
      }
      if (expected !== undefined && expected !== this.headVersion) await this.sync();
      if (expected !== undefined && expected !== this.headVersion) throw conflict(expected, this.headVersion);
      const base = this.serving === 'store' ? this.table : undefined;
      const version = this.headVersion + 1;
      const built = job.command(base?.spec, { env: this.options.env, version });
      const meta = { ...job.meta, reason: built.reason ?? job.meta.reason };
      const { result } = built;
      if (!result.ok) return this.refuse(result.issues, meta);
      const changes = base
        ? diffTables(base.spec, result.table.spec)
        : [{ action: 'table.loaded' as const, from: null, to: null }];
      if (changes.length === 0) {
        // a conditional no-op still answers for the store, not for this process's view of it
        if (expected !== undefined) await this.sync();
        if (expected !== undefined && expected !== this.headVersion) throw conflict(expected, this.headVersion);
        if (job.reconciles) {
          await this.backend.markReconciled(job.reconciles, base!.version);
          this.sourceSha256 = job.reconciles;
        }
        return { ok: true, table: base!, entries: [] };
      }
      const sourceSha256 = job.reconciles ?? this.sourceSha256;
      const entries = changeEntries({ table: result.table, changes, meta, at: this.isoNow() });
      const outcome = await this.backend.commit(
        commitRequest({
          version,
          spec: result.table.spec,
          sourceSha256,
          meta,
          entries,
          reconciles: job.reconciles,
          conditions: job.conditions,
        }),
      );
      if (outcome.ok) {
        this.headVersion = Math.max(this.headVersion, version);
        this.install(result.table, entries, meta, sourceSha256);
        return { ok: true, table: result.table, entries };
      }
      if (outcome.reason === 'fenced') throw new ProxyError('PROXY_ERR_PLAN_LEASE_LOST');
      await this.sync();
      if (expected !== undefined) throw conflict(expected, this.headVersion);
      if (job.reconciles && (await this.backend.fileReconciled(job.reconciles)))
        return { ok: true, table: this.table!, entries: [] }; // another process reconciled this file first
    }
    throw conflict(undefined, this.headVersion);
  }

  /** Serves `table` unless a newer one is already served (a notification may have delivered it first). */
  private install(table: CompiledTable, entries: AuditEntry[], meta: ChangeMeta, sourceSha256: string | null): void {
    if (this.table && this.serving === 'store' && table.version <= this.table.version) return;
    const first = this.table === undefined;
    this.table = table;
    this.sourceSha256 = sourceSha256;
    this.serving = 'store';
    this.refusedVersion = undefined;
    this.options.logger.info(
      {
        event: first ? LOG_EVENTS.stateRestored : LOG_EVENTS.tableApplied,
        version: table.version,
        source: meta.source,
        actor: meta.actor,
        reason: meta.reason,
        ...(entries.length > 0
          ? { changes: entries.map(({ action, routeId, from, to }) => ({ action, routeId, from, to })) }
          : {}),
      },
      first ? 'route table restored from the store' : 'route table applied',
    );
    for (const l of this.listeners) l(table, entries, meta);
  }

  /** A stored version this process cannot serve: refused once, audited once for the fleet, last good kept. */
  private async refuseStored(version: number, issues: TableIssue[]): Promise<void> {
    if (this.refusedVersion === version) return;
    this.refusedVersion = version;
    const meta = refusedMeta(version, issues);
    this.refuse(issues, meta);
    try {
      await this.note('table.refused', undefined, { ...meta, evidence: { version, issues } }, `refused:${version}`);
    } catch (err) {
      this.options.logger.error({ event: LOG_EVENTS.tableRejected, err }, 'refused version not audited');
    }
  }

  private refuse(issues: TableIssue[], meta: ChangeMeta): { ok: false; issues: TableIssue[] } {
    const rejectedChange: RejectedChange = {
      at: this.isoNow(),
      source: meta.source,
      actor: meta.actor,
      issues,
    };
    this.lastRejected = rejectedChange;
    for (const l of this.rejectListeners) l(rejectedChange);
    this.options.logger.warn(
      { event: LOG_EVENTS.tableRejected, source: meta.source, actor: meta.actor, issues },
      'route table change rejected',
    );
    return { ok: false, issues };
  }
}

function conflict(expected: number | undefined, current: number): ProxyError {
  return new ProxyError('PROXY_ERR_VERSION_CONFLICT', {
    message:
      expected === undefined
        ? `the route table kept changing while this change was made (now version ${current}); try again`
        : `the change was based on version ${expected}, the route table is at version ${current}`,
    details: { expectedVersion: expected ?? null, currentVersion: current },
  });
}
