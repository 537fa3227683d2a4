import { runService } from '@warmhouse/shared';
import { loadTelemetryConfig } from './config';
import { startTelemetry } from './service';

runService('telemetry', { loadConfig: loadTelemetryConfig, start: startTelemetry });
