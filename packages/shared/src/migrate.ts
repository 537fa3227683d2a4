import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const MIGRATIONS_ROOT = path.join(REPO_ROOT, 'migrations');

/**
 * The CLI arguments of `up` for one folder. The advisory lock node-pg-migrate takes is *waited for*: replicas
 * starting together (the chart runs two of each service) queue behind the one migrating, then find nothing left to
 * apply, instead of failing start-up with "Another migration is already running".
 */
export function migrationArgs(folder: string): string[] {
  return [
    'up',
    '--migrations-dir',
    path.join(MIGRATIONS_ROOT, folder),
    '--migrations-table',
    'pgmigrations',
    '--advisory-lock-mode',
    'wait',
  ];
}

/**
 * Applies the pending migrations of one folder under migrations/ with node-pg-migrate's CLI, waiting for another
 * process migrating the same database (see {@link migrationArgs}).
 * The CLI (not the library) because node-pg-migrate is ESM-only and jest's module loader cannot require it.
 */
export async function runMigrations(folder: string, databaseUrl: string): Promise<string> {
  const bin = require.resolve('node-pg-migrate/bin/node-pg-migrate');
  const { stdout } = await run(process.execPath, [bin, ...migrationArgs(folder)], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    timeout: 120_000,
  }).catch((err: Error & { stderr?: string; stdout?: string }) => {
    const firstLine = (err.stderr || err.stdout || err.message).split('\n')[0];
    throw new Error(`migrations/${folder} failed: ${firstLine}`, { cause: err });
  });
  return stdout;
}
