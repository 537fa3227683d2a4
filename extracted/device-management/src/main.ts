import { runService } from '@warmhouse/shared';
import { loadDeviceManagementConfig } from './config';
import { startDeviceManagement } from './service';

runService('device-management', { loadConfig: loadDeviceManagementConfig, start: startDeviceManagement });
