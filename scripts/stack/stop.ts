import path from 'node:path';
import { PidRegistry } from '../../cdc/src/runtime/processes';
import { STATE_ROOT } from './layout';

/** `npm run stop`: stops what a crashed or detached `npm start` left running, by the pids it recorded. */
async function main(): Promise<void> {
  for (const name of ['dev', 'test']) {
    const registry = new PidRegistry(path.join(STATE_ROOT, name, 'pids.json'));
    await registry.stopLeftovers((line) => process.stdout.write(`[stop] ${name}: ${line}\n`));
  }
  // PostgreSQL is stopped with pg_ctl on the next start (its pid file), or here:
  const { stopClusterIfRunning } = await import('../../cdc/src/runtime/postgres');
  for (const name of ['dev', 'test'])
    stopClusterIfRunning(path.join(STATE_ROOT, name), (l) => process.stdout.write(`[stop] ${name}: ${l}\n`));
}

void main();
