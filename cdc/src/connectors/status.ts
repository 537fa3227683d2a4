import { waitFor, type Logger } from '@warmhouse/shared';
import { cdcError } from '../errors';
import { connectRequest } from './connect-client';

/** Kafka Connect's state names for connectors and tasks. */
export type ConnectState = 'UNASSIGNED' | 'RUNNING' | 'PAUSED' | 'STOPPED' | 'FAILED' | 'RESTARTING';

/** `GET /connectors/<name>/status`. */
export interface ConnectorStatus {
  name: string;
  connector: { state: ConnectState; worker_id: string; trace?: string };
  tasks: Array<{ id: number; state: ConnectState; worker_id: string; trace?: string }>;
  type?: string;
}

/** Options of {@link waitForConnectorRunning}; `intervalMs` is the polling period. */
export interface WaitForRunningOptions {
  timeoutMs?: number;
  intervalMs?: number;
  logger?: Logger;
}

type Outcome = { ok: true; status: ConnectorStatus } | { ok: false; error: Error };

/** The connector's status, or `undefined` while Connect does not know it (404). */
export async function getConnectorStatus(connectUrl: string, name: string): Promise<ConnectorStatus | undefined> {
  const res = await connectRequest(connectUrl, 'GET', `/connectors/${encodeURIComponent(name)}/status`, {
    accept: [404],
  });
  return res.status === 404 ? undefined : (res.body as ConnectorStatus);
}

/**
 * Polls `/connectors/<name>/status` until the connector and all its tasks (at least one) are RUNNING.
 * A FAILED connector or task ends the wait at once with `CDC_ERR_CONNECTOR_FAILED` carrying Connect's trace;
 * PAUSED/STOPPED with `CDC_ERR_CONNECTOR_PAUSED`; the deadline with `CDC_ERR_CONNECTOR_START_TIMEOUT` naming the
 * last state seen.
 */
export async function waitForConnectorRunning(
  connectUrl: string,
  name: string,
  { timeoutMs = 60_000, intervalMs = 250, logger }: WaitForRunningOptions = {},
): Promise<ConnectorStatus> {
  let last = 'no status yet (connector unknown to Connect)';
  let outcome: Outcome;
  try {
    outcome = await waitFor<Outcome>(
      `connector ${name} to run`,
      async () => {
        const status = await getConnectorStatus(connectUrl, name);
        if (!status) return undefined;
        last = describe(status);
        return judge(connectUrl, name, status);
      },
      { timeoutMs, intervalMs },
    );
  } catch (err) {
    throw cdcError(
      'CDC_ERR_CONNECTOR_START_TIMEOUT',
      `connector ${name} was not RUNNING after ${timeoutMs} ms; last seen: ${last}`,
      {
        cause: err,
        details: { connectUrl, name, last },
      },
    );
  }
  if (!outcome.ok) throw outcome.error;
  logger?.info({ event: 'cdc_connector_running', connector: name }, `connector ${name} RUNNING`);
  return outcome.status;
}

function judge(connectUrl: string, name: string, status: ConnectorStatus): Outcome | undefined {
  const failed = [
    ...(status.connector.state === 'FAILED' ? [{ what: 'connector', trace: status.connector.trace }] : []),
    ...status.tasks.filter((t) => t.state === 'FAILED').map((t) => ({ what: `task ${t.id}`, trace: t.trace })),
  ];
  if (failed.length > 0) {
    const traces = failed.map((f) => `${f.what} FAILED: ${f.trace ?? '(no trace)'}`).join('\n');
    return {
      ok: false,
      error: cdcError('CDC_ERR_CONNECTOR_FAILED', `connector ${name} on ${connectUrl}: ${traces}`, {
        details: { connectUrl, name, status },
      }),
    };
  }
  const halted = [status.connector, ...status.tasks].find((s) => s.state === 'PAUSED' || s.state === 'STOPPED');
  if (halted) {
    return {
      ok: false,
      error: cdcError(
        'CDC_ERR_CONNECTOR_PAUSED',
        `connector ${name} is ${halted.state}; resume it with PUT ${connectUrl}/connectors/${name}/resume`,
        { details: { connectUrl, name, status } },
      ),
    };
  }
  const running =
    status.connector.state === 'RUNNING' && status.tasks.length > 0 && status.tasks.every((t) => t.state === 'RUNNING');
  return running ? { ok: true, status } : undefined;
}

function describe(status: ConnectorStatus): string {
  const tasks = status.tasks.map((t) => `task ${t.id} ${t.state}`).join(', ') || 'no tasks';
  return `connector ${status.connector.state}, ${tasks}`;
}
