import { componentDatabase } from '@warmhouse/shared';

export const DEFAULT_DATABASE = 'device_management';
export const MIGRATIONS_FOLDER = 'device-management';

/**
 * Creates device management's role and database (idempotent; the role may connect to no other database, since
 * every project database revokes CONNECT from PUBLIC) and applies `migrations/device-management/` as that role.
 * Returns the service's DATABASE_URL. For `npm start` and the integration tests.
 */
export const prepareDeviceManagementDatabase = componentDatabase({
  database: DEFAULT_DATABASE,
  migrations: MIGRATIONS_FOLDER,
});
