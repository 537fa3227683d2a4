import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { TableIssue } from './issues';

/** A routes file read and parsed (not yet validated); `sha256` identifies its content. */
export type LoadedFile =
  | { ok: true; path: string; sha256: string; data: unknown }
  | { ok: false; path: string; sha256: string | undefined; issues: TableIssue[] };

/** SHA-256 of a file's bytes, hex. */
export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Parses YAML (JSON is YAML too); syntax errors are issues with line and column. */
export function parseTableText(text: string): { ok: true; data: unknown } | { ok: false; issues: TableIssue[] } {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => ({
        path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '(file)',
        message: (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ''),
      })),
    };
  }
  return { ok: true, data: doc.toJS() as unknown };
}

/** Reads and parses a routes file; never throws. */
export function readTableFile(path: string): LoadedFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return {
      ok: false,
      path,
      sha256: undefined,
      issues: [{ path: '(file)', message: `cannot read ${path}: ${(err as Error).message}` }],
    };
  }
  const hash = sha256(text);
  const parsed = parseTableText(text);
  return parsed.ok
    ? { ok: true, path, sha256: hash, data: parsed.data }
    : { ok: false, path, sha256: hash, issues: parsed.issues };
}
