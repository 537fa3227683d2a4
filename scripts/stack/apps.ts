import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '@warmhouse/shared';
import {
  listenerOwnership,
  startProcess,
  tail,
  untilReady,
  type ManagedProcess,
  type PidRegistry,
} from '../../cdc/src/runtime/processes';
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

/**
 * Waits until `url` answers any HTTP status from the process we started: fails early (with the log) if it dies
 * first, or at once if another program holds its port (that program's answer is never taken for ours). Each
 * attempt is bounded, so a listener that accepts and never answers ends in a timeout with a message, not a hang.
 */
export async function waitForHttp(
  proc: ManagedProcess,
  url: string,
  { timeoutMs = 60_000, alsoListensOn = [] as number[] } = {},
): Promise<void> {
  const ports = [Number(new URL(url).port), ...alsoListensOn];
  await untilReady(
    proc,
    proc.logFile,
    waitFor(
      `${proc.name} at ${url}${alsoListensOn.length > 0 ? ` and listening on ${alsoListensOn.join(', ')}` : ''}`,
      async () => {
        await fetch(url, { signal: AbortSignal.timeout(5_000) });
        // every port of the process held by the process itself (a foreign holder fails untilReady at once)
        return ports.every((p) => listenerOwnership(proc.name, proc.pid, p) !== 'none') ? true : undefined;
      },
      { timeoutMs, intervalMs: 250 },
    ),
    ports,
  ).catch((err: Error) => {
    if (err.message.includes(proc.logFile)) throw err; // the log's end is already in it
    throw new Error(`${err.message}\n--- end of ${proc.logFile} ---\n${tail(proc.logFile)}`);
  });
}
