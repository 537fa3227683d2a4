import path from 'node:path';
import { ConfigError, createLogger, env, errorMessage, loadConfig } from '@warmhouse/shared';
import { z } from 'zod';
import { registerAllConnectors } from './connectors';

/**
 * `npm run cdc:register`: validates cdc/connectors/*.json, checks PostgreSQL, registers each connector with
 * Kafka Connect and waits until it runs. Exit codes: 0 done, 1 a part failed (the message names it), 2 bad
 * configuration of this command.
 */
async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig({
      CONNECT_URL: env.url().default('http://127.0.0.1:17083'),
      CDC_CONNECTORS_DIR: z
        .string()
        .min(1)
        .default(path.resolve(__dirname, '..', 'connectors')),
      CONNECTOR_RUNNING_TIMEOUT_MS: env.positiveInt(120_000),
      LOG_LEVEL: env.logLevel(),
    });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`cdc:register: ${err.message}\n`);
    return 2;
  }

  const logger = createLogger('cdc-register', config.LOG_LEVEL);
  try {
    const results = await registerAllConnectors({
      connectUrl: config.CONNECT_URL,
      dir: config.CDC_CONNECTORS_DIR,
      env: process.env,
      logger,
      runningTimeoutMs: config.CONNECTOR_RUNNING_TIMEOUT_MS,
    });
    for (const r of results) {
      process.stdout.write(`connector ${r.name}: ${r.outcome}, RUNNING (Debezium plugin ${r.pluginVersion ?? '?'})\n`);
    }
    return 0;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    process.stderr.write(`cdc:register: ${typeof code === 'string' ? `${code}: ` : ''}${errorMessage(err)}\n`);
    return code === 'CDC_ERR_CONNECTOR_CONFIG' ? 2 : 1;
  }
}

void main().then((code) => {
  process.exitCode = code;
});
