import { renameSync, writeFileSync } from 'node:fs';

/**
 * Writes a state file so that a reader (or a crash) sees either the old content or the new, never half of it:
 * a temporary file in the same directory, then a rename over the target.
 */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o640 });
  renameSync(tmp, file);
}
