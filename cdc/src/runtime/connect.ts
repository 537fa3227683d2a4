import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '@warmhouse/shared';
import { startJavaService, untilReady } from './java-service';
import { assertPortsFree, type ManagedProcess, type PidRegistry } from './processes';

export const DEBEZIUM_POSTGRES_CLASS = 'io.debezium.connector.postgresql.PostgresConnector';

export interface ConnectWorker {
  readonly url: string;
  readonly process: ManagedProcess;
  readonly logFile: string;
}

export function workerProperties(o: {
  bootstrap: string;
  port: number;
  pluginPath: string;
  groupId: string;
  replication: number;
}): string {
  return `# distributed Kafka Connect worker (written by cdc/src/runtime/connect.ts)
bootstrap.servers=${o.bootstrap}
group.id=${o.groupId}
config.storage.topic=_connect-configs
offset.storage.topic=_connect-offsets
status.storage.topic=_connect-status
config.storage.replication.factor=${o.replication}
offset.storage.replication.factor=${o.replication}
status.storage.replication.factor=${o.replication}
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=false
value.converter.schemas.enable=false
plugin.path=${o.pluginPath}
plugin.discovery=hybrid_warn
listeners=http://127.0.0.1:${o.port}
rest.advertised.host.name=127.0.0.1
rest.advertised.port=${o.port}
# source offsets (the LSN Debezium confirms to PostgreSQL) are flushed every second: a restart replays little
offset.flush.interval.ms=1000
# low-latency delivery of change events to the broker
producer.linger.ms=0
producer.acks=all
producer.enable.idempotence=true
`;
}

/** Starts a distributed Connect worker and waits until its REST API lists the Debezium PostgreSQL plugin. */
export async function startConnect(opts: {
  stateDir: string;
  port: number;
  bootstrap: string;
  classpath: string;
  pluginPath: string;
  registry: PidRegistry;
  replication?: number;
}): Promise<ConnectWorker> {
  const dir = path.join(opts.stateDir, 'connect');
  mkdirSync(dir, { recursive: true });
  // a restart may find the previous worker's JVM of this stack still closing its port: waited for, not refused
  const ownStack = { registry: opts.registry, stateDir: opts.stateDir };
  await assertPortsFree(
    { 'Kafka Connect': opts.port },
    { ownStack, hint: 'choose another port base', nothingStarted: false },
  );
  const propsFile = path.join(dir, 'worker.properties');
  writeFileSync(
    propsFile,
    workerProperties({ ...opts, groupId: 'warmhouse-connect', replication: opts.replication ?? 1 }),
  );
  const proc = startJavaService({
    name: 'connect',
    dir,
    classpath: opts.classpath,
    mainClass: 'org.apache.kafka.connect.cli.ConnectDistributed',
    args: [propsFile],
    heap: process.env.CONNECT_HEAP ?? '1g',
    registry: opts.registry,
  });
  const logFile = path.join(dir, 'connect.log');
  const url = `http://127.0.0.1:${opts.port}`;
  try {
    await untilReady(
      proc,
      logFile,
      waitFor(
        `Kafka Connect REST API on ${url} with the Debezium PostgreSQL plugin`,
        async () => {
          const plugins = (await (
            await fetch(`${url}/connector-plugins`, { signal: AbortSignal.timeout(5_000) })
          ).json()) as { class: string }[];
          if (!plugins.some((p) => p.class === DEBEZIUM_POSTGRES_CLASS)) return undefined;
          return (await fetch(`${url}/connectors`, { signal: AbortSignal.timeout(5_000) })).ok ? true : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 500 },
      ),
      [opts.port],
      { ownStack },
    );
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { url, process: proc, logFile };
}
