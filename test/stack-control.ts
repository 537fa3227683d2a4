import path from 'node:path';
import { startConnect } from '../cdc/src/runtime/connect';
import { PidRegistry } from '../cdc/src/runtime/processes';
import { readTestEndpoints } from './stack-endpoints';

/** Lets a fault-injection test stop and start the real Connect worker of the test stack (by its recorded pid). */
export function connectWorkerControl() {
  const { connectWorker } = readTestEndpoints();
  const registry = new PidRegistry(path.join(connectWorker.stateDir, 'pids.json'));
  return {
    stop: () => registry.stop('connect'),
    start: async () => {
      await startConnect({ ...connectWorker, registry });
    },
  };
}
