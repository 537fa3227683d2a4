import type { Logger } from '@warmhouse/shared';
import { getConnectorStatus, restartFailed, type ConnectState } from '@warmhouse/cdc';

/** What the monitor reports for a connector: Connect's own state, or why there is none. */
export type ConnectorReportState = ConnectState | 'UNREACHABLE' | 'NOT_FOUND' | 'ERROR';

/** One connector as seen through the Kafka Connect REST API. */
export interface ConnectorReport {
  name: string;
  /** false when the Connect REST API did not answer: the state is then `UNREACHABLE`, never a healthy one */
  reachable: boolean;
  state: ConnectorReportState;
  tasks: Array<{ id: number; state: ConnectState; trace?: string }>;
  /** connector RUNNING with at least one task, every task RUNNING */
  healthy: boolean;
  /** Connect's failure trace or the reason it could not be read */
  error?: string;
}

/** Reads one connector's status; never throws. */
export async function readConnector(connectUrl: string, name: string): Promise<ConnectorReport> {
  try {
    const status = await getConnectorStatus(connectUrl, name);
    if (!status) return { name, reachable: true, state: 'NOT_FOUND', tasks: [], healthy: false };
    const tasks = status.tasks.map((t) => ({ id: t.id, state: t.state, ...(t.trace ? { trace: t.trace } : {}) }));
    const healthy =
      status.connector.state === 'RUNNING' && tasks.length > 0 && tasks.every((t) => t.state === 'RUNNING');
    const trace = status.connector.trace ?? tasks.find((t) => t.trace)?.trace;
    return { name, reachable: true, state: status.connector.state, tasks, healthy, ...(trace ? { error: trace } : {}) };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    return {
      name,
      reachable: code !== 'CDC_ERR_CONNECT_UNREACHABLE' ? true : false,
      state: code === 'CDC_ERR_CONNECT_UNREACHABLE' ? 'UNREACHABLE' : 'ERROR',
      tasks: [],
      healthy: false,
      error: message,
    };
  }
}

/** One audited operator action. */
export interface AuditEntry {
  at: string;
  action: 'connector_restart';
  connector: string;
  reason: string;
  actor: string;
  outcome: 'restarted' | 'nothing_failed' | 'error';
  error?: string;
}

/**
 * Restarts the connector's FAILED connector/tasks (reusing {@link restartFailed}) and records who asked and why,
 * both in the returned entry and as the log event `cdc_monitor_restart_requested`.
 */
export async function auditedRestart(
  connectUrl: string,
  connector: string,
  { reason, actor }: { reason: string; actor: string },
  logger: Logger,
): Promise<AuditEntry> {
  const base = { at: new Date().toISOString(), action: 'connector_restart' as const, connector, reason, actor };
  let entry: AuditEntry;
  try {
    const restarted = await restartFailed(connectUrl, connector, logger);
    entry = { ...base, outcome: restarted ? 'restarted' : 'nothing_failed' };
  } catch (err) {
    entry = { ...base, outcome: 'error', error: err instanceof Error ? err.message : String(err) };
  }
  logger.warn({ event: 'cdc_monitor_restart_requested', ...entry }, `restart of ${connector} requested: ${reason}`);
  return entry;
}
