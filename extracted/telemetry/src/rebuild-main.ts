import { createLogger, createPool, env, loadConfig } from '@warmhouse/shared';
import { z } from 'zod';
import { createKafka } from './kafka/command-log';
import { rebuildReadModels } from './rebuild';

/**
 * `npm run telemetry:rebuild [-- --verify]`: rebuilds the read models from the command log next to the live ones,
 * compares, and swaps them in. `--verify` compares without swapping and exits 1 when they differ. Prints the report
 * as JSON on stdout. Safe while the service runs: ingest continues, projection pauses only for the final catch-up.
 */
async function main(): Promise<number> {
  const config = loadConfig({
    DATABASE_URL: env.postgresUrl(),
    KAFKA_BROKERS: env.list(),
    TELEMETRY_COMMAND_TOPIC: z.string().min(1).default('telemetry.readings.v1'),
    LOG_LEVEL: env.logLevel(),
  });
  const verify = process.argv.includes('--verify');
  const logger = createLogger('telemetry-rebuild', config.LOG_LEVEL);
  const pool = createPool(config.DATABASE_URL, logger, { max: 6 });
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'telemetry-rebuild', logger });
  try {
    const report = await rebuildReadModels({
      pool,
      kafka,
      topic: config.TELEMETRY_COMMAND_TOPIC,
      logger,
      swap: !verify,
    });
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return verify && !report.equal ? 1 : 0;
  } finally {
    await pool.end();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`telemetry-rebuild: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
