import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const MIGRATIONS_ROOT = path.join(REPO_ROOT, 'migrations');

/**
 * Applies the pending migrations of one folder under migrations/ with node-pg-migrate's CLI.
 * The CLI (not the library) because node-pg-migrate is ESM-only and jest's module loader cannot require it.
 */
export async function runMigrations(folder: string, databaseUrl: string): Promise<string> {
  const bin = require.resolve('node-pg-migrate/bin/node-pg-migrate');
  const { stdout } = await run(
    process.execPath,
    [bin, 'up', '--migrations-dir', path.join(MIGRATIONS_ROOT, folder), '--migrations-table', 'pgmigrations'],
    { env: { ...process.env, DATABASE_URL: databaseUrl }, timeout: 120_000 },
  ).catch((err: Error & { stderr?: string; stdout?: string }) => {
    const firstLine = (err.stderr || err.stdout || err.message).split('\n')[0];
    throw new Error(`migrations/${folder} failed: ${firstLine}`, { cause: err });
  });
  return stdout;
}
