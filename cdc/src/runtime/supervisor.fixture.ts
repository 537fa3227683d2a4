import path from 'node:path';
import { PidRegistry, startProcess } from './processes';
import { ownerChain, startSupervisor, SUPERVISOR_NAME } from './supervisor';

/**
 * A miniature run for supervisor.ptest.ts: `tsx supervisor.fixture.ts <stateDir>` starts its supervisor (watching
 * this process and the tsx launcher above it), records one long-lived child in the pid registry, prints the pids
 * as one JSON line and idles until killed.
 */
const stateDir = process.argv[2]!;
const registry = new PidRegistry(path.join(stateDir, 'pids.json'));
const owners = ownerChain();
startSupervisor({ stateDir, registry, config: { owners, graceMs: 2_000 } });
const child = startProcess({
  name: 'sleeper',
  command: process.execPath,
  args: ['-e', 'setInterval(() => {}, 1000)', stateDir],
  logFile: path.join(stateDir, 'sleeper.log'),
  registry,
  marker: stateDir,
});
process.stdout.write(
  `${JSON.stringify({ owners: owners.map((o) => o.pid), child: child.pid, supervisor: registry.pidOf(SUPERVISOR_NAME) })}\n`,
);
setInterval(() => undefined, 1_000);
