import { writeFileSync } from 'node:fs';
import { startBackbone, type Backbone } from '../scripts/stack/backbone';
import { exitOnPortsInUse } from '../cdc/src/runtime/processes';
import { seedIfEmpty } from '../monolith-standin/src/seed';
import { Pool } from 'pg';
import { ENDPOINTS_FILE, TEST_PORT_BASE, TEST_STATE_DIR, type StackEndpoints } from './stack-endpoints';

declare global {
  var __WARMHOUSE_BACKBONE__: Backbone | undefined;
}

/** Starts a real backbone (1 or 3 Kafka nodes) on its own ports and a fresh state folder; writes its endpoints. */
export async function startTestStack(opts: {
  stateDir: string;
  portBase: number;
  endpointsFile: string;
  kafkaNodes: 1 | 3;
  label: string;
  /** the variable that moves this stack's ports, named when one is taken */
  portVariable?: string;
}): Promise<void> {
  const started = Date.now();
  const log = (line: string) => process.stdout.write(`[${opts.label}] ${line}\n`);
  const backbone = await startBackbone({
    stateDir: opts.stateDir,
    portBase: opts.portBase,
    fresh: true,
    log,
    kafkaNodes: opts.kafkaNodes,
    portHint: `choose another port base (${opts.portVariable ?? 'TEST_STACK_PORT_BASE'})`,
    afterMigrations: async (url) => {
      const pool = new Pool({ connectionString: url });
      await seedIfEmpty(pool).finally(() => pool.end());
    },
  });
  globalThis.__WARMHOUSE_BACKBONE__ = backbone;
  const endpoints: StackEndpoints = {
    postgres: {
      host: '127.0.0.1',
      port: backbone.ports.postgres,
      superuserUrl: backbone.postgres.superuserUrl,
      monolithUrl: backbone.monolithUrl,
    },
    kafka: { brokers: backbone.kafka.brokers },
    connect: { url: backbone.connect.url },
    topics: backbone.topics,
    connectorName: backbone.connectorName,
    slotName: 'warmhouse_monolith',
    connectWorker: {
      stateDir: opts.stateDir,
      port: backbone.ports.connect,
      bootstrap: backbone.kafka.bootstrap,
      classpath: backbone.jars.classpath,
      pluginPath: backbone.jars.pluginPath,
    },
    kafkaNodes: backbone.kafka.nodes.map(({ id, port, controllerPort }) => ({ id, port, controllerPort })),
  };
  writeFileSync(opts.endpointsFile, JSON.stringify(endpoints, null, 2));
  log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * A test stack whose port is taken ends the run with one line naming the port and its holder, exit code 3
 * (nothing was started, so there is nothing for the teardown to stop); any other failure is jest's.
 */
export async function exitIfPortsInUse(label: string, start: Promise<void>): Promise<void> {
  try {
    await start;
  } catch (err) {
    exitOnPortsInUse(err, `\n[${label}]`);
    throw err;
  }
}

/** Starts the real backbone once per integration run, on its own ports and a fresh state folder. */
export default async function globalSetup(): Promise<void> {
  await exitIfPortsInUse(
    'test stack',
    startTestStack({
      stateDir: TEST_STATE_DIR,
      portBase: TEST_PORT_BASE,
      endpointsFile: ENDPOINTS_FILE,
      kafkaNodes: 1,
      label: 'test stack',
    }),
  );
}
