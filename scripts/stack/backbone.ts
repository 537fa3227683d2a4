import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, runMigrations } from '@warmhouse/shared';
import { z } from 'zod';
import { startConnect, type ConnectWorker } from '../../cdc/src/runtime/connect';
import { startKafka, type KafkaBroker } from '../../cdc/src/runtime/kafka';
import { ensureTopics } from '../../cdc/src/runtime/topics';
import { startPostgresCluster, stopClusterIfRunning, type PostgresCluster } from '../../cdc/src/runtime/postgres';
import { dropSlot, prepareMonolithSource, SLOT } from '../../cdc/src/runtime/prepare-source';
import { assertPortsFree, PidRegistry } from '../../cdc/src/runtime/processes';
import { ownerChain, startSupervisor, SUPERVISOR_NAME } from '../../cdc/src/runtime/supervisor';
import { provisionCdcJars, type CdcJars } from '../../cdc/src/runtime/provision';
import { registerMonolithConnectors, MONOLITH_CONNECTOR, TOPIC_PREFIX } from './connectors';
import { ensureDatabase, type RoleSpec } from './databases';
import { JAR_CACHE, kafkaNodeSpecs, portsFor, type StackPorts } from './layout';
import { assertPrerequisites } from './prerequisites';
import { prepareByoSource, preflightByoSource } from './byo-source';
import type { ByoMonolith } from './byo';

/** Development credentials of the project-owned cluster (loopback only); override through the environment. */
export function stackCredentials(env = process.env) {
  return {
    monolith: { user: 'monolith', password: env.MONOLITH_DB_PASSWORD ?? 'monolith-dev' },
    debezium: { user: 'debezium', password: env.DEBEZIUM_DB_PASSWORD ?? 'debezium-dev' },
  } satisfies Record<string, RoleSpec>;
}

/**
 * WARMHOUSE_KAFKA_NODES: 1 (default) runs one Kafka node; 3 runs the 3-broker mode (replication factor 3,
 * min.insync.replicas=2, Connect's internal topics replicated 3 times).
 */
export function stackKafkaNodes(env = process.env): 1 | 3 {
  const { WARMHOUSE_KAFKA_NODES } = loadConfig(
    { WARMHOUSE_KAFKA_NODES: z.enum(['1', '3'], { message: 'must be 1 or 3' }).default('1') },
    env,
  );
  return WARMHOUSE_KAFKA_NODES === '3' ? 3 : 1;
}

export interface Backbone {
  ports: StackPorts;
  jars: CdcJars;
  postgres: PostgresCluster;
  kafka: KafkaBroker;
  connect: ConnectWorker;
  monolithUrl: string;
  monolithSuperuserUrl: string;
  topics: { heatingSystems: string; temperatureSensors: string; heartbeat: string };
  connectorName: string;
  registry: PidRegistry;
  /** Stops and starts the Connect worker again (same config, same offsets). */
  restartConnect(): Promise<void>;
  stop(opts?: { dropReplicationSlot?: boolean }): Promise<void>;
}

/**
 * PostgreSQL (wal_level=logical) → Kafka (KRaft) → Kafka Connect + Debezium, with the monolith database migrated,
 * prepared as a CDC source and its connector RUNNING. `fresh` wipes the state folder first (tests).
 */
export async function startBackbone(opts: {
  stateDir: string;
  portBase: number;
  fresh: boolean;
  log: (line: string) => void;
  afterMigrations?: (monolithUrl: string) => Promise<void>;
  /** Kafka nodes: 1, or 3 for the 3-broker mode; default from WARMHOUSE_KAFKA_NODES */
  kafkaNodes?: 1 | 3;
  /** the ports the caller will use besides the backbone's (its services), checked with them before anything starts */
  extraPorts?: Record<string, number>;
  /** how to choose other ports, in the one-line refusal when one is taken (default: STACK_PORT_BASE) */
  portHint?: string;
  /**
   * When the process that started the stack dies without stopping it, its supervisor stops everything; this says
   * whether it also drops the connector's replication slot, as a normal stop of this stack does (default: `fresh`,
   * i.e. tests and benches yes, `npm start` no).
   */
  dropSlotWhenAbandoned?: boolean;
  /** the user's own monolith database as the CDC source (no smart_home in the project cluster); never dropped */
  byo?: ByoMonolith;
}): Promise<Backbone> {
  const { log } = opts;
  // configuration first: an invalid value must fail before anything is stopped or started
  const nodeCount = opts.kafkaNodes ?? stackKafkaNodes();
  assertPrerequisites();
  mkdirSync(opts.stateDir, { recursive: true });
  // leftovers of a crashed run on this state folder first, then the ports, and only then may a fresh run wipe it
  const registry = new PidRegistry(path.join(opts.stateDir, 'pids.json'));
  await registry.stopLeftovers(log);
  stopClusterIfRunning(opts.stateDir, log);
  const ports = portsFor(opts.portBase);
  const kafkaNodes = kafkaNodeSpecs(ports, nodeCount);
  // every port the run will use, before anything starts: a taken one stops it with one line naming port and holder
  await assertPortsFree(
    {
      PostgreSQL: ports.postgres,
      ...Object.fromEntries(
        kafkaNodes.flatMap((n) => [
          [`Kafka node ${n.id}`, n.port],
          [`Kafka controller ${n.id}`, n.controllerPort],
        ]),
      ),
      'Kafka Connect': ports.connect,
      ...opts.extraPorts,
    },
    {
      hint: opts.portHint ?? 'choose another port base (STACK_PORT_BASE)',
      // the leftovers just stopped may still be closing their ports: waited for, not taken for a foreign program
      ownStack: { registry, stateDir: opts.stateDir },
    },
  );
  // a user's database that fails the CDC preflight stops the run before anything starts
  if (opts.byo) await preflightByoSource(opts.byo, log);
  if (opts.fresh) {
    rmSync(opts.stateDir, { recursive: true, force: true });
    mkdirSync(opts.stateDir, { recursive: true });
  }

  const jars = provisionCdcJars(JAR_CACHE, log);
  const stops: Array<() => Promise<void> | void> = [];
  const stopAll = async () => {
    for (const s of stops.reverse())
      await Promise.resolve(s()).catch((err: unknown) => log(`stop failed: ${String(err)}`));
  };
  const monolithSuperuserUrl =
    opts.byo?.source.setupUrl ?? `postgres://postgres@127.0.0.1:${ports.postgres}/smart_home`;
  const connectUrl = `http://127.0.0.1:${ports.connect}`;
  // before the first child: from here on, whatever this process starts is stopped when it dies (SIGKILL included)
  startSupervisor({
    stateDir: opts.stateDir,
    registry,
    config: {
      owners: ownerChain(),
      graceMs: 8_000,
      dropReplicationSlot:
        !opts.byo && (opts.dropSlotWhenAbandoned ?? opts.fresh)
          ? { superuserUrl: monolithSuperuserUrl, slot: SLOT, connectUrl, connector: MONOLITH_CONNECTOR }
          : undefined,
    },
  });
  // stopped last (stops run in reverse): a normal stop ends with the supervisor standing down
  stops.push(() => registry.stop(SUPERVISOR_NAME, 5_000));

  try {
    const postgres = startPostgresCluster(opts.stateDir, ports.postgres, log);
    stops.push(() => postgres.stop());
    const creds = stackCredentials();
    let monolithUrl: string;
    if (opts.byo) {
      monolithUrl = opts.byo.source.setupUrl;
    } else {
      await ensureDatabase(postgres.superuserUrl, 'smart_home', creds.monolith);
      monolithUrl = postgres.urlFor('smart_home', creds.monolith.user, creds.monolith.password);
      await runMigrations('monolith', monolithUrl);
      await opts.afterMigrations?.(monolithUrl);
      await prepareMonolithSource(monolithSuperuserUrl, creds.debezium);
    }

    const kafka = await startKafka({
      stateDir: opts.stateDir,
      nodes: kafkaNodes,
      classpath: jars.classpath,
      registry,
      log,
    });
    stops.push(() => kafka.stop());
    const connectOpts = {
      stateDir: opts.stateDir,
      port: ports.connect,
      bootstrap: kafka.bootstrap,
      classpath: jars.classpath,
      pluginPath: jars.pluginPath,
      registry,
      replication: kafka.replicationFactor,
    };
    let connect = await startConnect(connectOpts);
    stops.push(() => registry.stop('connect'));
    const topics = {
      heatingSystems: `${TOPIC_PREFIX}.public.heating_systems`,
      temperatureSensors: `${TOPIC_PREFIX}.public.temperature_sensors`,
      heartbeat: `${TOPIC_PREFIX}.public.cdc_heartbeat`,
    };
    await ensureTopics(kafka.brokers, Object.values(topics), kafka.replicationFactor);
    if (opts.byo) {
      await prepareByoSource(opts.byo, connect.url, log);
    } else {
      await registerMonolithConnectors(
        connect.url,
        { host: '127.0.0.1', port: ports.postgres, database: 'smart_home', ...creds.debezium },
        log,
      );
    }

    return {
      ports,
      jars,
      postgres,
      kafka,
      get connect() {
        return connect;
      },
      monolithUrl,
      monolithSuperuserUrl,
      topics,
      connectorName: MONOLITH_CONNECTOR,
      registry,
      async restartConnect() {
        await registry.stop('connect');
        connect = await startConnect(connectOpts);
      },
      async stop({ dropReplicationSlot: wanted = false } = {}) {
        // the user's slot is never dropped by a stop: `npm run cdc:teardown` removes it, when they choose
        const dropReplicationSlot = wanted && !opts.byo;
        if (dropReplicationSlot) {
          await fetch(`${connect.url}/connectors/${MONOLITH_CONNECTOR}`, { method: 'DELETE' }).catch(() => undefined);
        }
        // by name from the pid registry: a test may have restarted the worker under a new pid
        await registry.stop('connect');
        if (dropReplicationSlot) {
          await dropSlot(monolithSuperuserUrl, SLOT).catch((err: unknown) =>
            log(`could not drop slot ${SLOT}: ${String(err)}`),
          );
        }
        await kafka.stop();
        await stopAll();
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
