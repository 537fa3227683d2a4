import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { stopClusterIfRunning } from '../../cdc/src/runtime/postgres';
import { PidRegistry } from '../../cdc/src/runtime/processes';
import { STATE_ROOT } from './layout';

/**
 * `npm run stop`: stops what a crashed or detached stack left running in any state folder (dev, test-*, bench),
 * by the pids it recorded and PostgreSQL's own pid file — never by process name.
 */
async function main(): Promise<void> {
  const folders = existsSync(STATE_ROOT) ? readdirSync(STATE_ROOT).filter((f) => f !== 'jars') : [];
  for (const name of folders) {
    const dir = path.join(STATE_ROOT, name);
    const log = (line: string) => process.stdout.write(`[stop] ${name}: ${line}\n`);
    await new PidRegistry(path.join(dir, 'pids.json')).stopLeftovers(log);
    stopClusterIfRunning(dir, log);
  }
}

void main();
