import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { waitFor } from '@warmhouse/shared';
import { startJavaService, untilReady } from './java-service';
import type { ManagedProcess, PidRegistry } from './processes';

export interface KafkaBroker {
  readonly bootstrap: string;
  readonly process: ManagedProcess;
  readonly logFile: string;
}

function serverProperties(dataDir: string, port: number, controllerPort: number): string {
  return `# single-node KRaft broker+controller (written by cdc/src/runtime/kafka.ts)
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=${dataDir}
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=168
`;
}

/** Formats KRaft storage on first use (Kafka 4 never does it by itself), starts the broker and waits until it answers. */
export async function startKafka(opts: {
  stateDir: string;
  port: number;
  controllerPort: number;
  classpath: string;
  registry: PidRegistry;
  log: (line: string) => void;
}): Promise<KafkaBroker> {
  const dir = path.join(opts.stateDir, 'kafka');
  const dataDir = path.join(dir, 'data');
  mkdirSync(dir, { recursive: true });
  const propsFile = path.join(dir, 'server.properties');
  writeFileSync(propsFile, serverProperties(dataDir, opts.port, opts.controllerPort));

  if (!existsSync(path.join(dataDir, 'meta.properties'))) {
    const java = (args: string[]) =>
      execFileSync('java', ['-cp', opts.classpath, 'kafka.tools.StorageTool', ...args], { encoding: 'utf8' });
    const clusterId = java(['random-uuid']).trim().split('\n').pop() ?? '';
    opts.log(`formatting KRaft storage in ${dataDir} (cluster id ${clusterId})`);
    java(['format', '--standalone', '-t', clusterId, '-c', propsFile]);
  }

  const proc = startJavaService({
    name: 'kafka',
    dir,
    classpath: opts.classpath,
    mainClass: 'kafka.Kafka',
    args: [propsFile],
    heap: process.env.KAFKA_HEAP ?? '768m',
    registry: opts.registry,
  });
  const logFile = path.join(dir, 'kafka.log');
  const bootstrap = `127.0.0.1:${opts.port}`;
  const admin = new Kafka({
    clientId: 'stack-healthcheck',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).admin();
  try {
    await untilReady(
      proc,
      logFile,
      waitFor(
        `Kafka broker on ${bootstrap}`,
        async () => {
          await admin.connect();
          const cluster = await admin.describeCluster();
          return cluster.brokers.length > 0 ? true : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      ),
    );
  } catch (err) {
    await proc.stop();
    throw err;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  return { bootstrap, process: proc, logFile };
}
