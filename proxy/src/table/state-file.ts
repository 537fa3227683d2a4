import { renameSync, writeFileSync } from 'node:fs';
import { ProxyError } from '../errors';

/**
 * Writes a state file so that a reader (or a crash) sees either the old content or the new, never half of it:
 * a temporary file in the same directory, then a rename over the target.
 */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o640 });
  renameSync(tmp, file);
}

/** {@link writeFileAtomic} of `value` as indented JSON; a failure is PROXY_ERR_STATE_WRITE_FAILED naming the file. */
export function writeJsonState(file: string, value: unknown): void {
  try {
    writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
  } catch (err) {
    throw new ProxyError('PROXY_ERR_STATE_WRITE_FAILED', {
      message: `cannot write ${file}: ${(err as Error).message}`,
      cause: err,
    });
  }
}
