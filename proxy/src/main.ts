import { createLogger, runMain } from '@warmhouse/shared';
import { loadProxyConfig } from './config';
import { startStrangler } from './server';

runMain('strangler-proxy', async (onStop) => {
  const config = loadProxyConfig(process.env);
  const logger = createLogger('strangler-proxy', config.LOG_LEVEL);
  const running = await startStrangler(config, logger);
  onStop(() => running.stop());
  return logger;
});
