import { createLogger, runMain } from '@warmhouse/shared';
import { loadTelemetryConfig } from './config';
import { startTelemetry } from './service';

runMain('telemetry', async (onStop) => {
  const config = loadTelemetryConfig();
  const logger = createLogger('telemetry', config.LOG_LEVEL);
  const running = await startTelemetry(config, logger);
  onStop(() => running.stop());
  return logger;
});
