import { createLogger, runMain } from '@warmhouse/shared';
import { loadDeviceManagementConfig } from './config';
import { startDeviceManagement } from './service';

runMain('device-management', async (onStop) => {
  const config = loadDeviceManagementConfig();
  const logger = createLogger('device-management', config.LOG_LEVEL);
  const running = await startDeviceManagement(config, logger);
  onStop(() => running.stop());
  return logger;
});
