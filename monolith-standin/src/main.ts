import { createLogger, createPool, runMain } from '@warmhouse/shared';
import { createApp } from './app';
import { loadStandInConfig } from './config';
import { seedIfEmpty } from './seed';

runMain('monolith-standin', async (onStop) => {
  const config = loadStandInConfig();
  const logger = createLogger('monolith-standin', config.LOG_LEVEL);
  const pool = createPool(config.MONOLITH_DATABASE_URL, logger);
  await pool.query('SELECT 1');
  if (config.MONOLITH_SEED && (await seedIfEmpty(pool))) logger.info({ event: 'seeded' }, 'seed data written');
  const server = createApp({ pool, logger }).listen(config.MONOLITH_PORT, config.MONOLITH_HOST);
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  logger.info(
    { event: 'listening', port: config.MONOLITH_PORT },
    `monolith stand-in on http://${config.MONOLITH_HOST}:${config.MONOLITH_PORT}`,
  );
  onStop(() => pool.end());
  onStop(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return logger;
});
