import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '@warmhouse/shared';
import { startProcess, tail, type ManagedProcess, type PidRegistry } from '../../cdc/src/runtime/processes';
import { REPO_ROOT } from './layout';

/** Starts one of our TypeScript entry points as its own process (tsx), logging JSON lines to a file. */
export function startNodeService(opts: {
  name: string;
  entry: string;
  env: Record<string, string>;
  stateDir: string;
  registry: PidRegistry;
}): ManagedProcess {
  const logDir = path.join(opts.stateDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  return startProcess({
    name: opts.name,
    command: process.execPath,
    args: ['--import', 'tsx', path.join(REPO_ROOT, opts.entry)],
    cwd: REPO_ROOT,
    env: { ...process.env, ...opts.env },
    logFile: path.join(logDir, `${opts.name}.log`),
    registry: opts.registry,
    marker: opts.entry,
  });
}

/** Waits until `url` answers any HTTP status; fails early (with the log) if the process dies first. */
export async function waitForHttp(proc: ManagedProcess, url: string, timeoutMs = 60_000): Promise<void> {
  let exited: number | null | undefined;
  void proc.exited.then((code) => (exited = code));
  await waitFor(
    `${proc.name} at ${url}`,
    async () => {
      if (exited !== undefined) throw new Error(`${proc.name} exited with code ${exited}:\n${tail(proc.logFile)}`);
      await fetch(url);
      return true;
    },
    { timeoutMs, intervalMs: 250 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n--- end of ${proc.logFile} ---\n${tail(proc.logFile)}`);
  });
}
