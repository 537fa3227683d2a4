import path from 'node:path';
import { startConnect } from '../cdc/src/runtime/connect';
import { kafkaNodeLayout, startKafkaNode } from '../cdc/src/runtime/kafka';
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

/** Lets a fault-injection test kill a Kafka node of a test stack (SIGKILL, by its recorded pid) and start it again. */
export function kafkaNodeControl(endpointsFile: string) {
  const { connectWorker, kafkaNodes } = readTestEndpoints(endpointsFile);
  const stateDir = connectWorker.stateDir;
  const registry = new PidRegistry(path.join(stateDir, 'pids.json'));
  const nodeOf = (id: number) => {
    const node = kafkaNodes.find((n) => n.id === id);
    if (!node) throw new Error(`no Kafka node ${id}`);
    return node;
  };
  const pidOf = (id: number) => {
    const pid = registry.pidOf(kafkaNodeLayout(stateDir, id, kafkaNodes.length).registryName);
    if (pid === undefined) throw new Error(`no recorded pid for Kafka node ${id}`);
    return pid;
  };
  return {
    pidOf,
    /** SIGKILL: no clean shutdown, no leadership hand-over; the node's log segments stay as the crash left them */
    kill(id: number): number {
      const pid = pidOf(id);
      process.kill(pid, 'SIGKILL');
      return pid;
    },
    async start(id: number): Promise<number> {
      const proc = await startKafkaNode({
        stateDir,
        node: nodeOf(id),
        clusterSize: kafkaNodes.length,
        classpath: connectWorker.classpath,
        registry,
      });
      return proc.pid;
    },
  };
}
