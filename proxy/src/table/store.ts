import type { Logger } from '@warmhouse/shared';
import type { CommitRequest, ControlBackend, StoredVersion } from '../control/backend';
import { FileBackend } from '../control/file-backend';
import { MemoryBackend } from '../control/memory-backend';
import { ForeignRowError } from '../control/pg-backend';
import { ProxyError } from '../errors';
import { LOG_EVENTS } from '../log-events';
import { keepPlanProgress } from '../plan/keep-progress';
import type { AuditAction, AuditEntry, ChangeSource } from './audit';
import { compileTable, type CompiledTable, type CompileResult, type TableIssue } from './compile';
import { diffTables, type TableChange } from './diff';
import { readTableFile, type LoadedFile } from './load';
import type { PlanStatus } from './plan-schema';
import type { ReleaseSpec, RouteMode, RouteSpec, TableSpec } from './schema';

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
  now?: () => Date;
}

type ChangeListener = (table: CompiledTable, entries: readonly AuditEntry[], meta: ChangeMeta) => void;

/** A change to commit: how to build the next table from the one in force (`undefined`: none yet). */
interface ChangeJob {
  meta: ChangeMeta;
  build(base: TableSpec | undefined, version: number): CompileResult;
  conditions?: ChangeConditions;
  /** Routes file content this change reconciles. */
  reconciles?: string;
  /** The change may be made while the table in force is not from the store (the first reconciliation). */
  fromFile?: boolean;
  /** The audit reason, when it depends on what `build` found (plan progress kept by a file change). */
  reasonOf?: () => string;
}

const MAX_ATTEMPTS = 8;

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
  private readonly now: () => Date;
  readonly backend: ControlBackend;
  /** The last refused change (file reload, admin request or stored version), for the admin API and metrics. */
  lastRejected: RejectedChange | undefined;

  private constructor(private readonly options: StoreOptions) {
    this.now = options.now ?? (() => new Date());
    this.backend =
      options.backend ?? (options.stateDir ? new FileBackend(options.stateDir, this.now) : new MemoryBackend());
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
    return this.change({ meta, conditions, build: (_base, version) => this.compile(spec, version) });
  }

  /** Points an existing route at another upstream. */
  setTarget(routeId: string, target: string, meta: ChangeMeta, conditions?: ChangeConditions): Promise<ApplyResult> {
    return this.updateRoute(routeId, { target }, meta, conditions);
  }

  /**
   * Changes the target, mode or canary weight of an existing route in one table version (one audit entry).
   * Fields left out keep their value.
   */
  async updateRoute(
    routeId: string,
    patch: RoutePatch,
    meta: ChangeMeta,
    conditions?: ChangeConditions,
  ): Promise<ApplyResult> {
    const { planStatus, ...fields } = patch;
    const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    const result = await this.change({
      meta,
      conditions,
      build: (base, version) => {
        const index = indexOf(base!, routeId);
        const routes = base!.routes.map((r, i) => {
          if (i !== index) return r;
          const next = { ...r, ...defined };
          if (planStatus !== undefined && r.plan) return { ...next, plan: { ...r.plan, status: planStatus } };
          return pauseOnManualChange(r, next, meta);
        });
        return relativeTo(index, this.compile({ ...base, routes }, version));
      },
    });
    return result;
  }

  /** Creates or replaces one route; issues name fields of the route itself (`target`, `methods[0]`...). */
  async putRoute(
    routeId: string,
    input: unknown,
    meta: ChangeMeta,
    conditions?: ChangeConditions,
  ): Promise<ApplyResult & { created?: boolean }> {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      return this.refuse([{ path: '(body)', message: 'must be a JSON object (a route)' }], meta);
    }
    const body = 'id' in input ? input : { ...input, id: routeId };
    if ((body as { id: unknown }).id !== routeId) {
      return this.refuse([{ path: 'id', message: `must equal the id in the URL ("${routeId}")` }], meta);
    }
    let created = false;
    const result = await this.change({
      meta,
      conditions,
      build: (base, version) => {
        const existing = base!.routes.findIndex((r) => r.id === routeId);
        created = existing === -1;
        const routes: unknown[] =
          existing === -1 ? [...base!.routes, body] : base!.routes.map((r, i) => (i === existing ? body : r));
        const index = existing === -1 ? routes.length - 1 : existing;
        return relativeTo(index, this.compile({ ...base, routes }, version));
      },
    });
    return { ...result, created };
  }

  /** Removes a route (its requests then go to the default target). */
  deleteRoute(routeId: string, meta: ChangeMeta, conditions?: ChangeConditions): Promise<ApplyResult> {
    return this.change({
      meta,
      conditions,
      build: (base, version) => {
        indexOf(base!, routeId);
        return this.compile({ ...base, routes: base!.routes.filter((r) => r.id !== routeId) }, version);
      },
    });
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
    const target =
      routeId === undefined ? null : (this.table?.spec.routes.find((r) => r.id === routeId)?.target ?? null);
    const entry: AuditEntry = {
      at: this.now().toISOString(),
      version: this.table?.version ?? 0,
      actor: meta.actor,
      source: meta.source,
      reason: meta.reason,
      action,
      ...(routeId === undefined ? {} : { routeId }),
      from: target,
      to: target,
      ...(meta.evidence === undefined ? {} : { evidence: meta.evidence }),
    };
    await this.backend.appendAudit([entry], dedupeKey);
    return entry;
  }

  /** Audit entries, oldest first. */
  readAudit(options: { limit?: number; routeId?: string } = {}): Promise<AuditEntry[]> {
    return this.backend.readAudit(options);
  }

  private compile(input: unknown, version: number): CompileResult {
    return compileTable(input, { env: this.options.env, version });
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
    if (head && (head.version > this.headVersion || this.serving !== 'store' || !this.table)) {
      this.headVersion = Math.max(this.headVersion, head.version);
      const result = this.compile(head.spec, head.version);
      if (result.ok) this.install(result.table, [], head, head.sourceSha256);
      else if (startup && this.backend instanceof FileBackend) {
        const file = this.backend.stateFile;
        throw rejected(result.issues.map((i) => ({ ...i, path: `${file} ${i.path}` })));
      } else await this.refuseStored(head.version, result.issues);
    }
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
    if (!file) {
      this.fileCheckPending = false;
      return;
    }
    const meta: ChangeMeta = {
      actor: `file:${file.path}`,
      source: 'startup',
      reason: this.table ? 'routes file changed while the proxy was stopped' : 'initial load',
    };
    if (!file.ok) {
      if (!this.table) throw rejected(file.issues.map((i) => ({ ...i, path: `${file.path} ${i.path}` })));
      this.lastRejected = { at: this.now().toISOString(), source: 'file', actor: meta.actor, issues: file.issues };
      this.fileCheckPending = false;
      return;
    }
    if (await this.backend.fileReconciled(file.sha256)) {
      this.fileCheckPending = false;
      return;
    }
    const result = await this.reconcile(file, meta);
    this.fileCheckPending = false;
    if (!result.ok) {
      if (!this.table) throw rejected(result.issues.map((i) => ({ ...i, path: `${file.path} ${i.path}` })));
      this.options.logger.error(
        { event: LOG_EVENTS.tableRejected, issues: result.issues },
        'routes file rejected; stored table kept',
      );
    }
  }

  /** Commits a routes file's table (plan progress kept where its plan is unchanged); `undefined`: already done. */
  private async reconcile(file: LoadedFile & { ok: true }, meta: ChangeMeta): Promise<ApplyResult> {
    let kept: string[] = [];
    const result = await this.change({
      meta,
      reconciles: file.sha256,
      fromFile: true,
      build: (base, version) => {
        const compiled = compileFileTable(file.data, base, { env: this.options.env, version });
        kept = compiled.kept;
        return compiled.result;
      },
      reasonOf: () => fileReason(meta.reason, kept),
    });
    return result;
  }

  /** The store could not be reached at start-up: serve the routes file until {@link sync} reaches it. */
  private serveRoutesFile(cause: ProxyError): void {
    const file = this.options.routesFile ? readTableFile(this.options.routesFile) : undefined;
    if (!file) throw cause;
    if (!file.ok) throw rejected(file.issues.map((i) => ({ ...i, path: `${file.path} ${i.path}` })));
    const result = this.compile(file.data, 0);
    if (!result.ok) throw rejected(result.issues.map((i) => ({ ...i, path: `${file.path} ${i.path}` })));
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
      const result = job.build(base?.spec, version);
      const reason = job.reasonOf?.() ?? job.meta.reason;
      const meta = { ...job.meta, reason };
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
      const entries = this.entriesOf(result.table, changes, meta);
      const outcome = await this.backend.commit({
        version,
        spec: result.table.spec,
        sourceSha256,
        actor: meta.actor,
        source: meta.source,
        reason: meta.reason,
        entries,
        ...(job.reconciles ? { reconciles: job.reconciles } : {}),
        ...(job.conditions?.fence ? { fence: job.conditions.fence } : {}),
      });
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

  private entriesOf(next: CompiledTable, changes: TableChange[], meta: ChangeMeta): AuditEntry[] {
    const at = this.now().toISOString();
    const release = meta.source === 'file' || meta.source === 'startup' ? next.spec.release : undefined;
    return changes.map((c) => ({
      at,
      version: next.version,
      actor: meta.actor,
      source: meta.source,
      reason: release ? `${meta.reason} (${releaseLabel(release)})` : meta.reason,
      ...(release ? { release } : {}),
      ...c,
      ...(meta.evidence === undefined ? {} : { evidence: meta.evidence }),
    }));
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
    const meta: ChangeMeta = {
      actor: `store:version ${version}`,
      source: 'store',
      reason: `stored version ${version} refused: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    };
    this.refuse(issues, meta);
    try {
      await this.note('table.refused', undefined, { ...meta, evidence: { version, issues } }, `refused:${version}`);
    } catch (err) {
      this.options.logger.error({ event: LOG_EVENTS.tableRejected, err }, 'refused version not audited');
    }
  }

  private refuse(issues: TableIssue[], meta: ChangeMeta): { ok: false; issues: TableIssue[] } {
    const rejectedChange: RejectedChange = {
      at: this.now().toISOString(),
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

function indexOf(spec: TableSpec, routeId: string): number {
  const index = spec.routes.findIndex((r) => r.id === routeId);
  if (index === -1)
    throw new ProxyError('PROXY_ERR_ROUTE_NOT_FOUND', { message: `no route "${routeId}"`, details: { routeId } });
  return index;
}

/** Issues of a one-route change name the route's own fields (`target`, not `routes[3].target`). */
function relativeTo(index: number, result: CompileResult): CompileResult {
  if (result.ok) return result;
  const prefix = `routes[${index}].`;
  return {
    ...result,
    issues: result.issues.map((i) => (i.path.startsWith(prefix) ? { ...i, path: i.path.slice(prefix.length) } : i)),
  };
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

/** `helm release warm-house revision 7` */
function releaseLabel(release: ReleaseSpec): string {
  return `helm release ${release.name} revision ${release.revision}`;
}
