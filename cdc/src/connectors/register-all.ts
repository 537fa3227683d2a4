import type { Logger } from '@warmhouse/shared';
import { loadConnectorConfigs } from './load';
import { checkPostgresReachable, postgresTargetOf, type PostgresTarget } from './postgres-check';
import { registerConnector, type RegistrationResult } from './register';
import { restartFailed } from './restart';
import { waitForConnectorRunning, type ConnectorStatus } from './status';

/** Options of {@link registerAllConnectors}. */
export interface RegisterAllOptions {
  connectUrl: string;
  /** folder of connector files */
  dir: string;
  /** source of the `${VAR}` placeholders */
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** how long each connector may take to reach RUNNING, ms */
  runningTimeoutMs?: number;
  checkPostgres?: (target: PostgresTarget) => Promise<void>;
}

/**
 * Validates every connector file, checks that each connector's database answers, then registers each connector
 * with Kafka Connect, restarts parts of it left FAILED by an earlier run, and waits until it is RUNNING.
 * Stops at the first problem; the error's code says which part failed.
 */
export async function registerAllConnectors({
  connectUrl,
  dir,
  env,
  logger,
  runningTimeoutMs = 120_000,
  checkPostgres = checkPostgresReachable,
}: RegisterAllOptions): Promise<Array<RegistrationResult & { status: ConnectorStatus }>> {
  const connectors = loadConnectorConfigs(dir, env);
  for (const c of connectors) await checkPostgres(postgresTargetOf(c.config));
  const results = [];
  for (const c of connectors) {
    const result = await registerConnector(connectUrl, c, { logger });
    await restartFailed(connectUrl, c.name, logger);
    const status = await waitForConnectorRunning(connectUrl, c.name, { timeoutMs: runningTimeoutMs, logger });
    results.push({ ...result, status });
  }
  return results;
}
