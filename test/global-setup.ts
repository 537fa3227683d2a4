import { writeFileSync } from 'node:fs';
import { startBackbone, type Backbone } from '../scripts/stack/backbone';
import { seedIfEmpty } from '../monolith-standin/src/seed';
import { Pool } from 'pg';
import { ENDPOINTS_FILE, TEST_PORT_BASE, TEST_STATE_DIR, type StackEndpoints } from './stack-endpoints';

declare global {
  var __WARMHOUSE_BACKBONE__: Backbone | undefined;
}

/** Starts the real backbone once per integration run, on its own ports and a fresh state folder. */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const log = (line: string) => process.stdout.write(`[test stack] ${line}\n`);
  const backbone = await startBackbone({
    stateDir: TEST_STATE_DIR,
    portBase: TEST_PORT_BASE,
    fresh: true,
    log,
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
    kafka: { brokers: [backbone.kafka.bootstrap] },
    connect: { url: backbone.connect.url },
    topics: backbone.topics,
    connectorName: backbone.connectorName,
    slotName: 'warmhouse_monolith',
    connectWorker: {
      stateDir: TEST_STATE_DIR,
      port: backbone.ports.connect,
      bootstrap: backbone.kafka.bootstrap,
      classpath: backbone.jars.classpath,
      pluginPath: backbone.jars.pluginPath,
    },
  };
  writeFileSync(ENDPOINTS_FILE, JSON.stringify(endpoints, null, 2));
  log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
