import path from 'node:path';
import { createLogger } from '@warmhouse/shared';
import { loadConnectorConfigs, registerConnector, waitForConnectorRunning } from '../../cdc/src';
import { REPO_ROOT } from './layout';

export const CONNECTORS_DIR = path.join(REPO_ROOT, 'cdc', 'connectors');
export const MONOLITH_CONNECTOR = 'monolith-heating';
export const TOPIC_PREFIX = 'monolith';

/** Registers every connector in cdc/connectors/ (placeholders filled from the stack) and waits until each RUNS. */
export async function registerMonolithConnectors(
  connectUrl: string,
  source: { host: string; port: number; database: string; user: string; password: string },
  log: (line: string) => void,
  /** another replication slot than the connector file's (slot names are per server) */
  slot?: string,
): Promise<void> {
  const env = {
    ...process.env,
    MONOLITH_DB_HOST: source.host,
    MONOLITH_DB_PORT: String(source.port),
    MONOLITH_DB_NAME: source.database,
    DEBEZIUM_DB_USER: source.user,
    DEBEZIUM_DB_PASSWORD: source.password,
  };
  const logger = createLogger('stack', process.env.LOG_LEVEL ?? 'warn');
  for (const loaded of loadConnectorConfigs(CONNECTORS_DIR, env)) {
    const connector = slot ? { ...loaded, config: { ...loaded.config, 'slot.name': slot } } : loaded;
    await registerConnector(connectUrl, connector, { logger });
    await waitForConnectorRunning(connectUrl, connector.name, { timeoutMs: 120_000 });
    log(`connector ${connector.name} RUNNING`);
  }
}
