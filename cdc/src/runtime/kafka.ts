import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { waitFor } from '@warmhouse/shared';
import { startJavaService, untilReady } from './java-service';
import { assertPortsFree, type ManagedProcess, type OwnStack, type PidRegistry } from './processes';

export interface KafkaBroker {
  /** every node's client listener, comma-separated (bootstrap.servers; clients survive any one node being down) */
  readonly bootstrap: string;
  readonly brokers: string[];
  /** node 1's JVM as started (the only one in single-node mode) */
  readonly process: ManagedProcess;
  readonly logFile: string;
  readonly nodes: ReadonlyArray<KafkaNodeSpec & ReturnType<typeof kafkaNodeLayout>>;
  /** replication factor of new topics: 1 on a single node, 3 on three */
  readonly replicationFactor: number;
  /** stops every node (by its pid-registry entry, so a node a test restarted is stopped too) */
  stop(): Promise<void>;
}

export interface KafkaNodeSpec {
  id: number;
  port: number;
  controllerPort: number;
}

/**
 * server.properties of one node. A single node keeps the historical layout (standalone controller, replication 1).
 * Three nodes are three combined broker+controller processes with a static voter set: topics are replicated 3
 * times and need 2 in-sync replicas to acknowledge an acks=all write, so losing any one node loses nothing
 * acknowledged and keeps both the controller quorum (2 of 3) and writes going.
 */
export function serverProperties(dataDir: string, node: KafkaNodeSpec, all: readonly KafkaNodeSpec[]): string {
  const replicated = all.length > 1;
  const rf = replicated ? 3 : 1;
  const minIsr = replicated ? 2 : 1;
  const quorum = replicated
    ? `controller.quorum.voters=${all.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(',')}`
    : `controller.quorum.bootstrap.servers=127.0.0.1:${node.controllerPort}`;
  return `# ${replicated ? `node ${node.id} of a 3-node` : 'single-node'} KRaft broker+controller (written by cdc/src/runtime/kafka.ts)
process.roles=broker,controller
node.id=${node.id}
${quorum}
listeners=PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${node.port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=${dataDir}
num.partitions=3
default.replication.factor=${rf}
min.insync.replicas=${minIsr}
unclean.leader.election.enable=false
offsets.topic.replication.factor=${rf}
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=${rf}
transaction.state.log.min.isr=${minIsr}
share.coordinator.state.topic.replication.factor=${rf}
share.coordinator.state.topic.min.isr=${minIsr}
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=168
${
  replicated
    ? `# a dead node is fenced (and dropped from every ISR, leadership moved) within a few seconds rather than 9
broker.session.timeout.ms=6000
broker.heartbeat.interval.ms=1000
`
    : ''
}`;
}

function java(classpath: string, args: string[]): string {
  return execFileSync('java', ['-cp', classpath, 'kafka.tools.StorageTool', ...args], { encoding: 'utf8' });
}

/** Where node `id` keeps its config, data and logs, and its name in the pid registry. */
export function kafkaNodeLayout(stateDir: string, id: number, clusterSize: number) {
  const dir = clusterSize > 1 ? path.join(stateDir, 'kafka-cluster', `node-${id}`) : path.join(stateDir, 'kafka');
  const registryName = id === 1 ? 'kafka' : `kafka-${id}`;
  return {
    dir,
    registryName,
    propsFile: path.join(dir, 'server.properties'),
    logFile: path.join(dir, `${registryName}.log`),
  };
}

/** What it takes to launch one formatted Kafka node of a stack. */
export interface KafkaNodeLaunch {
  stateDir: string;
  node: KafkaNodeSpec;
  clusterSize: number;
  classpath: string;
  registry: PidRegistry;
}

/**
 * Launches one formatted node (its server.properties already written) and waits until it answers on its own
 * listener and the cluster counts `clusterSize` registered brokers. Used at start-up and to bring back a node a
 * fault-injection test killed.
 */
export async function startKafkaNode(opts: KafkaNodeLaunch): Promise<ManagedProcess> {
  const proc = await launchKafkaNode(opts);
  await untilKafkaNodeReady(proc, opts);
  return proc;
}

async function launchKafkaNode(opts: KafkaNodeLaunch): Promise<ManagedProcess> {
  const layout = kafkaNodeLayout(opts.stateDir, opts.node.id, opts.clusterSize);
  // a restarted node may find its previous JVM of this stack still closing its ports: waited for, not refused
  await assertPortsFree(
    { [`Kafka node ${opts.node.id}`]: opts.node.port, [`Kafka controller ${opts.node.id}`]: opts.node.controllerPort },
    { ownStack: ownStackOf(opts), hint: 'choose another port base', nothingStarted: false },
  );
  return startJavaService({
    name: layout.registryName,
    dir: layout.dir,
    classpath: opts.classpath,
    mainClass: 'kafka.Kafka',
    args: [layout.propsFile],
    heap: process.env.KAFKA_HEAP ?? (opts.clusterSize > 1 ? '512m' : '768m'),
    registry: opts.registry,
  });
}

const ownStackOf = (opts: { stateDir: string; registry: PidRegistry }): OwnStack => ({
  registry: opts.registry,
  stateDir: opts.stateDir,
});

async function untilKafkaNodeReady(
  proc: ManagedProcess,
  opts: { stateDir: string; node: KafkaNodeSpec; clusterSize: number; registry: PidRegistry },
): Promise<void> {
  const own = `127.0.0.1:${opts.node.port}`;
  const admin = new Kafka({
    clientId: 'stack-healthcheck',
    brokers: [own],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).admin();
  try {
    await untilReady(
      proc,
      kafkaNodeLayout(opts.stateDir, opts.node.id, opts.clusterSize).logFile,
      waitFor(
        `Kafka node ${opts.node.id} on ${own}`,
        async () => {
          await admin.connect();
          const cluster = await admin.describeCluster();
          return cluster.brokers.length >= opts.clusterSize ? true : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      ),
      // the node itself must hold both of its listeners: another program answering there is never taken for it
      [opts.node.port, opts.node.controllerPort],
      { ownStack: ownStackOf(opts) },
    );
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Starts a KRaft cluster of `nodes.length` (1 or 3) combined broker+controller nodes, formatting storage on first
 * use (Kafka 4 never does it by itself; all nodes of a cluster share one cluster id), and waits until every node
 * is registered. A single node keeps the folder `kafka/`; the nodes of a 3-node cluster live in
 * `kafka-cluster/node-<id>/`, so switching modes never mixes their storage.
 */
export async function startKafka(opts: {
  stateDir: string;
  nodes: readonly KafkaNodeSpec[];
  classpath: string;
  registry: PidRegistry;
  log: (line: string) => void;
}): Promise<KafkaBroker> {
  const size = opts.nodes.length;
  if (size !== 1 && size !== 3) throw new Error('a Kafka cluster here has 1 or 3 nodes');
  const layoutOf = (id: number) => kafkaNodeLayout(opts.stateDir, id, size);

  let clusterId: string | undefined;
  for (const spec of opts.nodes) {
    const { dir, propsFile } = layoutOf(spec.id);
    const dataDir = path.join(dir, 'data');
    mkdirSync(dir, { recursive: true });
    writeFileSync(propsFile, serverProperties(dataDir, spec, opts.nodes));
    if (!existsSync(path.join(dataDir, 'meta.properties'))) {
      clusterId ??= java(opts.classpath, ['random-uuid']).trim().split('\n').pop() ?? '';
      opts.log(`formatting KRaft storage in ${dataDir} (cluster id ${clusterId})`);
      // a static voter set (controller.quorum.voters) needs no --standalone / --initial-controllers
      java(opts.classpath, ['format', ...(size > 1 ? [] : ['--standalone']), '-t', clusterId, '-c', propsFile]);
    }
  }

  const procs = new Map<number, ManagedProcess>();
  const common = { stateDir: opts.stateDir, clusterSize: size, classpath: opts.classpath, registry: opts.registry };
  // all at once: a node stopped last would otherwise wait for a controller quorum that is already gone
  const stopAll = async () => {
    await Promise.all(opts.nodes.map((spec) => opts.registry.stop(layoutOf(spec.id).registryName)));
    procs.clear();
  };
  try {
    // a quorum of three answers only once two voters are up: launch every node first, then wait for each
    for (const node of opts.nodes) procs.set(node.id, await launchKafkaNode({ ...common, node }));
    for (const node of opts.nodes) await untilKafkaNodeReady(procs.get(node.id)!, { ...common, node });
  } catch (err) {
    await stopAll();
    throw err;
  }

  const brokers = opts.nodes.map((n) => `127.0.0.1:${n.port}`);
  return {
    bootstrap: brokers.join(','),
    brokers,
    process: procs.get(1)!,
    logFile: layoutOf(1).logFile,
    nodes: opts.nodes.map((n) => ({ ...n, ...layoutOf(n.id) })),
    replicationFactor: size > 1 ? 3 : 1,
    stop: stopAll,
  };
}
