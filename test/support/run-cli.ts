import { execFile } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../../scripts/stack/layout';

/** The outcome of one CLI run: exit code and what it printed. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one of our TypeScript CLIs (tsx) as its own process with extra environment; never throws on exit ≠ 0. */
export function runCli(
  entry: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 120_000,
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(REPO_ROOT, entry), ...args],
      { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
