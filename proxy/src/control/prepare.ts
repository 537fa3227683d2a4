import { componentDatabase } from '@warmhouse/shared';

export const CONTROL_DATABASE = 'strangler';

/**
 * Creates the proxy's control database and its owner role (idempotent) and applies `migrations/proxy/` as that
 * role; returns PROXY_CONTROL_DATABASE_URL. For `npm start` and the tests (on Kubernetes the chart's job does it).
 */
export const prepareControlDatabase = componentDatabase({ database: CONTROL_DATABASE, migrations: 'proxy' });
