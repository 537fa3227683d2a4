import { createLogger, createPool, runMain } from '@warmhouse/shared';
import { loadSimulatorConfig } from './config';
import { createFieldSimulator } from './simulator';

runMain('field-simulator', async (onStop) => {
  const config = loadSimulatorConfig();
  const logger = createLogger('field-simulator', config.LOG_LEVEL);
  const pool = createPool(config.MONOLITH_DATABASE_URL, logger, { max: 2 });
  await pool.query('SELECT 1');
  const simulator = createFieldSimulator({ pool, ratePerSecond: config.SIMULATOR_RATE, logger });
  simulator.start();
  onStop(() => pool.end());
  onStop(() => simulator.stop());
  return logger;
});
