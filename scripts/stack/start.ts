import path from 'node:path';
import { Pool } from 'pg';
import { seedIfEmpty } from '../../monolith-standin/src/seed';
import { startNodeService, waitForHttp } from './apps';
import { startBackbone } from './backbone';
import { DEV_PORT_BASE, STATE_ROOT } from './layout';
import type { ManagedProcess } from '../../cdc/src/runtime/processes';

/**
 * `npm start`: the whole stack on this machine — PostgreSQL (logical replication), Kafka, Kafka Connect + Debezium,
 * the monolith stand-in and its field simulator — then prints where each part listens. Ctrl-C stops everything.
 */
async function main(): Promise<void> {
  const log = (line: string) => process.stdout.write(`[stack] ${line}\n`);
  const stateDir = path.join(STATE_ROOT, 'dev');
  const portBase = Number(process.env.STACK_PORT_BASE ?? DEV_PORT_BASE);
  const started = Date.now();
  const backbone = await startBackbone({
    stateDir,
    portBase,
    fresh: false,
    log,
    afterMigrations: async (url) => {
      const pool = new Pool({ connectionString: url });
      if (await seedIfEmpty(pool).finally(() => pool.end())) log('seeded the monolith database');
    },
  });
  const { ports, registry } = backbone;
  const apps: ManagedProcess[] = [];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log('stopping…');
    for (const app of apps.reverse()) await app.stop(10_000);
    await backbone.stop();
    log('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    const monolithUrl = `http://127.0.0.1:${ports.monolith}`;
    const monolith = startNodeService({
      name: 'monolith-standin',
      entry: 'monolith-standin/src/main.ts',
      env: { MONOLITH_PORT: String(ports.monolith), MONOLITH_DATABASE_URL: backbone.monolithUrl },
      stateDir,
      registry,
    });
    apps.push(monolith);
    await waitForHttp(monolith, `${monolithUrl}/api/heating/1`);

    apps.push(
      startNodeService({
        name: 'field-simulator',
        entry: 'monolith-standin/src/simulator-main.ts',
        env: { MONOLITH_DATABASE_URL: backbone.monolithUrl, SIMULATOR_RATE: process.env.SIMULATOR_RATE ?? '2' },
        stateDir,
        registry,
      }),
    );

    const rows: Array<[string, string]> = [
      ['monolith stand-in (HTTP)', monolithUrl],
      ['PostgreSQL (smart_home)', backbone.monolithUrl.replace(/:[^:@/]+@/, ':***@')],
      ['PostgreSQL superuser', backbone.postgres.superuserUrl],
      ['Kafka bootstrap', backbone.kafka.bootstrap],
      ['Kafka Connect REST', backbone.connect.url],
      ['connector status', `${backbone.connect.url}/connectors/${backbone.connectorName}/status`],
      ['CDC topics', Object.values(backbone.topics).join(', ')],
      ['logs', path.join(stateDir, '{logs,kafka,connect,postgres}')],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    log(
      `ready in ${((Date.now() - started) / 1000).toFixed(1)} s (Kafka ${backbone.jars.kafkaVersion}, Debezium ${backbone.jars.debeziumVersion})`,
    );
    for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(width)}  ${v}\n`);
    process.stdout.write('Press Ctrl-C to stop everything.\n');
  } catch (err) {
    process.stderr.write(`[stack] ${(err as Error).message}\n`);
    await stop(1);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[stack] failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
