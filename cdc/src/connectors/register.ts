import type { Logger } from '@warmhouse/shared';
import { cdcError } from '../errors';
import { backoffDelay, sleep } from '@warmhouse/messaging';
import { connectRequest } from './connect-client';
import type { ConnectorDefinition } from './schema';

/** What {@link registerConnector} did. */
export interface RegistrationResult {
  name: string;
  outcome: 'created' | 'updated' | 'unchanged';
  /** version of the Debezium PostgreSQL plugin the worker runs */
  pluginVersion: string | undefined;
}

/** Options of {@link registerConnector}. */
export interface RegisterOptions {
  logger: Logger;
  /** how long to keep retrying 409 (rebalancing) and 5xx answers, ms */
  retryForMs?: number;
  /** per-request deadline, ms */
  requestTimeoutMs?: number;
}

interface ConnectorPlugin {
  class: string;
  type?: string;
  version?: string;
}

/**
 * Creates or updates a connector through `PUT /connectors/<name>/config`, idempotently: a connector whose stored
 * config already equals this one is left alone (a PUT would restart its task). Checks first that the worker has
 * loaded the Debezium PostgreSQL plugin. Unreachable Connect and 4xx answers fail at once; 409 and 5xx answers
 * are retried with backoff for `retryForMs`.
 */
export async function registerConnector(
  connectUrl: string,
  connector: Pick<ConnectorDefinition, 'name' | 'config'>,
  { logger, retryForMs = 30_000, requestTimeoutMs = 10_000 }: RegisterOptions,
): Promise<RegistrationResult> {
  const log = logger.child({ module: 'cdc-register', connector: connector.name });
  const deadline = Date.now() + retryForMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await registerOnce(connectUrl, connector, requestTimeoutMs, log);
    } catch (err) {
      const retriable = (err as { code?: string }).code === 'CDC_ERR_CONNECT_FAILED';
      const wait = backoffDelay(attempt, { initialMs: 250, maxMs: 5_000, factor: 2 });
      if (!retriable || Date.now() + wait > deadline) throw err;
      log.warn({ event: 'cdc_connector_register_retry', err, attempt, waitMs: wait }, 'Kafka Connect busy, retrying');
      await sleep(wait);
    }
  }
}

async function registerOnce(
  connectUrl: string,
  connector: Pick<ConnectorDefinition, 'name' | 'config'>,
  timeoutMs: number,
  log: Logger,
): Promise<RegistrationResult> {
  const plugins = (await connectRequest(connectUrl, 'GET', '/connector-plugins', { timeoutMs })).body;
  const list = Array.isArray(plugins) ? (plugins as ConnectorPlugin[]) : [];
  const plugin = list.find((p) => p.class === connector.config['connector.class']);
  if (!plugin) {
    throw cdcError(
      'CDC_ERR_PLUGIN_MISSING',
      `Kafka Connect at ${connectUrl} has no ${connector.config['connector.class']} plugin (has: ${list.map((p) => p.class).join(', ') || 'none'}); check the worker's plugin.path`,
      { details: { connectUrl, expected: connector.config['connector.class'], available: list.map((p) => p.class) } },
    );
  }

  const path = `/connectors/${encodeURIComponent(connector.name)}/config`;
  const current = await connectRequest(connectUrl, 'GET', path, { accept: [404], timeoutMs });
  const desired: Record<string, string> = { ...connector.config, name: connector.name };
  if (current.status === 200 && sameConfig(current.body, desired)) {
    log.info({ event: 'cdc_connector_unchanged' }, `connector ${connector.name} already has this config`);
    return { name: connector.name, outcome: 'unchanged', pluginVersion: plugin.version };
  }

  const put = await connectRequest(connectUrl, 'PUT', path, { body: desired, timeoutMs });
  const outcome = put.status === 201 ? 'created' : 'updated';
  log.info(
    { event: `cdc_connector_${outcome}`, pluginVersion: plugin.version },
    `connector ${connector.name} ${outcome}`,
  );
  return { name: connector.name, outcome, pluginVersion: plugin.version };
}

function sameConfig(current: unknown, desired: Record<string, string>): boolean {
  if (typeof current !== 'object' || current === null) return false;
  const stored = current as Record<string, unknown>;
  const keys = Object.keys(desired);
  return Object.keys(stored).length === keys.length && keys.every((k) => stored[k] === desired[k]);
}
