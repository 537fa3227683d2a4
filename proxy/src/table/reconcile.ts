import type { StoredVersion } from '../control/backend';
import { keepPlanProgress } from '../plan/keep-progress';
import type { ChangeMeta, RejectedChange } from './change';
import type { Command } from './commands';
import { compileTable, type CompiledTable, type CompileOptions, type CompileResult } from './compile';
import { inFile, type TableIssue } from './issues';
import type { LoadedFile } from './load';
import type { TableSpec } from './schema';

// Start-up reconciliation, pure: given the store's newest version, the table in force and the routes file's
// content, what to serve, what to commit and what to refuse. The store does the reading and the writing.

/** What the store knows when it looks at the newest stored version. */
export interface KnownHead {
  /** The newest version known in the store (served or refused). */
  headVersion: number;
  /** The table in force, if any. */
  table: CompiledTable | undefined;
  /** Whether the table in force came from the store (not from the routes file while the store was down). */
  fromStore: boolean;
}

/** What to do with the newest stored version: nothing (already served), serve it, or refuse it. */
export type HeadStep =
  | { kind: 'none' }
  | { kind: 'serve'; head: StoredVersion; table: CompiledTable }
  | { kind: 'refuse'; head: StoredVersion; issues: TableIssue[] };

/** Serves the newest stored version when it is newer than the one in force (or nothing is served from the store). */
export function headStep(head: StoredVersion | undefined, known: KnownHead, env: NodeJS.ProcessEnv): HeadStep {
  if (!head || (head.version <= known.headVersion && known.fromStore && known.table)) return { kind: 'none' };
  const result = compileTable(head.spec, { env, version: head.version });
  return result.ok ? { kind: 'serve', head, table: result.table } : { kind: 'refuse', head, issues: result.issues };
}

/** The audit meta of a stored version this process refuses. */
export function refusedMeta(version: number, issues: readonly TableIssue[]): ChangeMeta {
  return {
    actor: `store:version ${version}`,
    source: 'store',
    reason: `stored version ${version} refused: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
  };
}

/**
 * What start-up does with the routes file: nothing without one; `fail` when it is bad and nothing else can be
 * served (the proxy refuses to start; issues name the file); `reject` when it is bad but a stored table is in
 * force (kept); otherwise `reconcile` it into the store, unless the store has already seen this content.
 */
export type StartupFileStep =
  | { kind: 'none' }
  | { kind: 'fail'; issues: TableIssue[] }
  | { kind: 'reject'; rejected: RejectedChange }
  | { kind: 'reconcile'; file: LoadedFile & { ok: true }; meta: ChangeMeta };

export function startupFileStep(options: {
  file: LoadedFile | undefined;
  hasTable: boolean;
  at: string;
}): StartupFileStep {
  const { file, hasTable } = options;
  if (!file) return { kind: 'none' };
  const meta: ChangeMeta = {
    actor: `file:${file.path}`,
    source: 'startup',
    reason: hasTable ? 'routes file changed while the proxy was stopped' : 'initial load',
  };
  if (file.ok) return { kind: 'reconcile', file, meta };
  if (!hasTable) return { kind: 'fail', issues: inFile(file.path, file.issues) };
  return { kind: 'reject', rejected: { at: options.at, source: 'file', actor: meta.actor, issues: file.issues } };
}

/**
 * Compiles a routes file's table; routes whose plan the file leaves unchanged keep their plan progress from the
 * table in force ({@link keepPlanProgress}). Should the table with the kept progress not compile (the file
 * removed the upstream a route stands on), the file's table is taken as it is.
 */
export function compileFileTable(
  data: unknown,
  inForce: TableSpec | undefined,
  options: CompileOptions,
): { result: CompileResult; kept: string[] } {
  const result = compileTable(data, options);
  if (!result.ok || !inForce) return { result, kept: [] };
  const { spec, kept } = keepPlanProgress(inForce, result.table.spec);
  if (kept.length === 0) return { result, kept };
  const merged = compileTable(spec, options);
  return merged.ok ? { result: merged, kept } : { result, kept: [] };
}

/** The command committing a routes file's table; the audit reason names the routes whose plan progress it kept. */
export function reconcileFile(data: unknown, reason: string): Command {
  return (base, options) => {
    const { result, kept } = compileFileTable(data, base, options);
    return { result, reason: kept.length === 0 ? reason : `${reason}; plan progress kept: ${kept.join(', ')}` };
  };
}

/** The routes file's table served while the store cannot be reached at start-up (version 0); issues name the file. */
export function compileRoutesFile(file: LoadedFile, env: NodeJS.ProcessEnv): CompileResult {
  if (!file.ok) return { ok: false, issues: inFile(file.path, file.issues) };
  const result = compileTable(file.data, { env, version: 0 });
  return result.ok ? result : { ok: false, issues: inFile(file.path, result.issues) };
}
