import type { z } from 'zod';

/** One problem found in a table: `path` is the field (`routes[2].target`), `message` says what is wrong. */
export interface TableIssue {
  readonly path: string;
  readonly message: string;
}

/** Formats a zod/issue path as `routes[2].target`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out || '(root)';
}

/** Zod issues as table issues. */
export function zodIssues(error: z.ZodError, prefix: ReadonlyArray<PropertyKey> = []): TableIssue[] {
  return error.issues.map((i) => ({ path: formatPath([...prefix, ...i.path]), message: i.message }));
}

/** A reference at `path` to an upstream the table does not declare. */
export function unknownUpstream(path: string, name: string, known: Iterable<string>): TableIssue {
  return { path, message: `unknown upstream "${name}" (known: ${[...known].join(', ')})` };
}

/** Issues found in a file, each path prefixed with the file's (`routes.yaml routes[2].target`). */
export function inFile(file: string, issues: readonly TableIssue[]): TableIssue[] {
  return issues.map((i) => ({ ...i, path: `${file} ${i.path}` }));
}
