import type { Logger } from '@warmhouse/shared';
import { connectRequest } from './connect-client';
import { getConnectorStatus } from './status';

/**
 * Restarts the connector's FAILED instances (`POST /restart?includeTasks=true&onlyFailed=true`), if any, so that
 * registering again after fixing the cause (a password, the publication) brings a failed connector back.
 * Returns whether a restart was requested.
 */
export async function restartFailed(connectUrl: string, name: string, logger: Logger): Promise<boolean> {
  const status = await getConnectorStatus(connectUrl, name);
  if (!status) return false;
  const failed = [status.connector, ...status.tasks].some((s) => s.state === 'FAILED');
  if (!failed) return false;
  await connectRequest(
    connectUrl,
    'POST',
    `/connectors/${encodeURIComponent(name)}/restart?includeTasks=true&onlyFailed=true`,
  );
  logger.warn(
    { event: 'cdc_connector_restarted', connector: name },
    `connector ${name} had FAILED parts; restart requested`,
  );
  return true;
}
