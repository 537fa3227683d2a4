import { Client, type ClientConfig } from 'pg';
import { postgresTargetOfUrl } from '../connectors/postgres-check';

/** What happened when the Debezium login opened a logical replication connection, as the connector does. */
export type ReplicationProbe =
  { ok: true; systemId: string } | { ok: false; sqlState: string | undefined; message: string };

/**
 * Opens a logical replication connection (`replication=database`) with the connector's login and runs
 * `IDENTIFY_SYSTEM`: pg_hba.conf is matched for it by the database name, so a server that lets the login in for
 * queries may still refuse this. Never throws.
 */
export async function probeReplicationConnection(url: string, timeoutMs = 5_000): Promise<ReplicationProbe> {
  // `replication` is a startup parameter node-postgres sends (connection-parameters.js) but does not type
  const config: ClientConfig & { replication: string } = {
    ...postgresTargetOfUrl(url),
    replication: 'database',
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  };
  const client = new Client(config);
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ systemid: string }>('IDENTIFY_SYSTEM');
    return { ok: true, systemId: String(rows[0]?.systemid ?? '') };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return { ok: false, sqlState: typeof code === 'string' ? code : undefined, message: (err as Error).message };
  } finally {
    await client.end().catch(() => undefined);
  }
}
