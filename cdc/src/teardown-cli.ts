import { errorMessage } from '@warmhouse/shared';
import { connectPostgres, postgresTargetOfUrl } from './connectors/postgres-check';
import { hasCode } from './errors';
import { readCdcSourceConfig } from './preflight/config';
import { PREFLIGHT_EXIT } from './preflight/judge';
import { connectSource } from './preflight/run';
import { runTeardown } from './preflight/teardown';

/**
 * `npm run cdc:teardown`: removes from the monolith database exactly what the stack recorded as created there
 * (connector, slot, publication, heartbeat table) and refuses to drop an active slot. MONOLITH_DATABASE_URL
 * (owner login), DEBEZIUM_DATABASE_URL (a REPLICATION login, drops the slot), CONNECT_URL. Exit codes: 0 all
 * removed, 1 something left (named), 2 bad configuration, 3 database unreachable or login refused.
 */
async function main(): Promise<number> {
  const fail = (line: string) => process.stderr.write(`cdc:teardown: ${line}\n`);
  const read = readCdcSourceConfig(process.env);
  if ('error' in read) {
    fail(read.error);
    return PREFLIGHT_EXIT.config;
  }
  const connectUrl = process.env.CONNECT_URL ?? 'http://127.0.0.1:17083';
  let clients;
  let replication;
  try {
    clients = await connectSource(read.config);
    replication =
      read.config.debeziumUrl === read.config.setupUrl
        ? clients.setup
        : await connectPostgres(postgresTargetOfUrl(read.config.debeziumUrl));
  } catch (err) {
    await clients?.close();
    fail(`\u2717 ${errorMessage(err)}`);
    return hasCode(err, 'CDC_ERR_POSTGRES_UNREACHABLE') ? PREFLIGHT_EXIT.unreachable : PREFLIGHT_EXIT.failed;
  }
  try {
    const lines = await runTeardown({ setup: clients.setup, replication, connectUrl });
    for (const l of lines) process.stdout.write(`${l.ok ? '\u2713' : '\u2717'} ${l.text}\n`);
    return lines.every((l) => l.ok) ? PREFLIGHT_EXIT.ok : PREFLIGHT_EXIT.failed;
  } catch (err) {
    fail(errorMessage(err));
    return PREFLIGHT_EXIT.failed;
  } finally {
    if (replication !== clients.setup) await replication.end().catch(() => undefined);
    await clients.close();
  }
}

void main().then((code) => {
  process.exitCode = code;
});
