import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { seedIfEmpty } from '../../monolith-standin/src/seed';
import { prepareDeviceManagementDatabase } from '../../extracted/device-management/src/database';
import { prepareTelemetryDatabase } from '../../extracted/telemetry/src/database';
import { prepareControlDatabase } from '../../proxy/src/control/prepare';
import { startNodeService, waitForHttp } from './apps';
import { startBackbone } from './backbone';
import { readByoMonolith } from './byo';
import { SLOT } from '../../cdc/src/runtime/prepare-source';
import { DEV_PORT_BASE, portsFor, STATE_ROOT } from './layout';
import { exitOnPortsInUse, type ManagedProcess, type PidRegistry } from '../../cdc/src/runtime/processes';
import type { RoleSpec } from './databases';

/**
 * `npm start`: the whole stack on this machine — PostgreSQL (logical replication), Kafka, Kafka Connect + Debezium,
 * the monolith stand-in and its field simulator, device management, telemetry, the strangler proxy, the CDC monitor —
 * then prints where each part listens. Ctrl-C stops everything.
 */
/** Audience of the API's access tokens (the demo identity provider issues them, the proxy checks them). */
const API_AUDIENCE = 'urn:warm-house:api';

/** The proxy admin token of the local stack: PROXY_ADMIN_TOKEN, or one generated once and kept in the state folder. */
function devAdminToken(stateDir: string): string {
  if (process.env.PROXY_ADMIN_TOKEN) return process.env.PROXY_ADMIN_TOKEN;
  const file = path.join(stateDir, 'admin-token');
  if (!existsSync(file)) writeFileSync(file, randomBytes(18).toString('base64url'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

/**
 * One extracted service (extracted/<name>): its database and role prepared (migrations applied), the service
 * started on `port` with DATABASE_URL and `env`, added to `apps`, and awaited until /health/ready answers.
 */
async function startExtracted(opts: {
  name: string;
  port: number;
  prepareDatabase: (superuserUrl: string, role: RoleSpec) => Promise<string>;
  role: RoleSpec;
  env: Record<string, string>;
  superuserUrl: string;
  stateDir: string;
  registry: PidRegistry;
  apps: ManagedProcess[];
}): Promise<{ url: string; databaseUrl: string }> {
  const url = `http://127.0.0.1:${opts.port}`;
  const databaseUrl = await opts.prepareDatabase(opts.superuserUrl, opts.role);
  const service = startNodeService({
    name: opts.name,
    entry: `extracted/${opts.name}/src/main.ts`,
    env: { PORT: String(opts.port), DATABASE_URL: databaseUrl, ...opts.env },
    stateDir: opts.stateDir,
    registry: opts.registry,
  });
  opts.apps.push(service);
  await waitForHttp(service, `${url}/health/ready`);
  return { url, databaseUrl };
}

async function main(): Promise<void> {
  const log = (line: string) => process.stdout.write(`[stack] ${line}\n`);
  // STACK_STATE_DIR: another state folder (e.g. a second stack beside the usual one), default .state/dev
  const stateDir = path.resolve(process.env.STACK_STATE_DIR ?? path.join(STATE_ROOT, 'dev'));
  const portBase = Number(process.env.STACK_PORT_BASE ?? DEV_PORT_BASE);
  const started = Date.now();
  const planned = portsFor(portBase);
  // MONOLITH_URL + MONOLITH_DATABASE_URL: the user's own monolith, no stand-in, no simulator
  const byoRead = readByoMonolith(process.env);
  if ('error' in byoRead) throw new Error(byoRead.error);
  const byo = byoRead.byo ?? undefined;
  if (byo) log(`your monolith: ${byo.monolithUrl} (no stand-in, no field simulator)`);
  const backbone = await startBackbone({
    stateDir,
    portBase,
    fresh: false,
    log,
    byo,
    extraPorts: {
      'strangler proxy': planned.proxy,
      'proxy admin API': planned.proxyAdmin,
      'CDC monitor': planned.cdcMonitor,
      ...(byo ? {} : { 'monolith stand-in': planned.monolith }),
      'device management': planned.deviceManagement,
      telemetry: planned.telemetry,
    },
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
  process.on('SIGHUP', () => void stop(0)); // terminal closed

  try {
    const monolithUrl = byo?.monolithUrl ?? `http://127.0.0.1:${ports.monolith}`;
    if (!byo) {
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
    }

    const extracted = { superuserUrl: backbone.postgres.superuserUrl, stateDir, registry, apps };
    const { url: deviceManagementUrl, databaseUrl: deviceManagementDb } = await startExtracted({
      ...extracted,
      name: 'device-management',
      port: ports.deviceManagement,
      prepareDatabase: prepareDeviceManagementDatabase,
      role: {
        user: 'device_management',
        password: process.env.DEVICE_MANAGEMENT_DB_PASSWORD ?? 'device-management-dev',
      },
      env: { MONOLITH_DATABASE_URL: backbone.monolithUrl, KAFKA_BROKERS: backbone.kafka.bootstrap },
    });
    const { url: telemetryUrl } = await startExtracted({
      ...extracted,
      name: 'telemetry',
      port: ports.telemetry,
      prepareDatabase: prepareTelemetryDatabase,
      role: { user: 'telemetry', password: process.env.TELEMETRY_DB_PASSWORD ?? 'telemetry-dev' },
      env: { KAFKA_BROKERS: backbone.kafka.bootstrap },
    });

    // the demo identity provider: routes with `auth` accept its tokens (docs/proxy/identity.md)
    const issuer = `http://127.0.0.1:${ports.identityProvider}`;
    const idpSecret = process.env.IDP_CLIENT_SECRET ?? 'warm-house-demo-secret';
    const identityProvider = startNodeService({
      name: 'identity-provider',
      entry: 'packages/identity-provider/src/main.ts',
      env: {
        IDP_PORT: String(ports.identityProvider),
        IDP_CLIENT_SECRET: idpSecret,
        IDP_AUDIENCE: API_AUDIENCE,
        // the migration dashboard signs people in with the `warm-house-dashboard` client
        IDP_DASHBOARD_REDIRECT_URIS: `http://127.0.0.1:${ports.cdcMonitor}/auth/callback`,
      },
      stateDir,
      registry,
    });
    apps.push(identityProvider);
    await waitForHttp(identityProvider, `${issuer}/.well-known/openid-configuration`);

    const proxyUrl = `http://127.0.0.1:${ports.proxy}`;
    const adminUrl = `http://127.0.0.1:${ports.proxyAdmin}`;
    const adminToken = devAdminToken(stateDir);
    // the proxy's control store: route table versions, audit, plans and pins shared by every proxy process
    const controlDb = await prepareControlDatabase(backbone.postgres.superuserUrl, {
      user: 'strangler',
      password: process.env.STRANGLER_DB_PASSWORD ?? 'strangler-dev',
    });
    // one proxy worker per CPU (node:cluster); PROXY_WORKERS in the environment overrides it (1: a single process)
    const proxyWorkers = process.env.PROXY_WORKERS ?? String(os.availableParallelism());
    const proxy = startNodeService({
      name: 'proxy',
      entry: 'proxy/src/main.ts',
      env: {
        PROXY_HOST: '127.0.0.1',
        PROXY_PORT: String(ports.proxy),
        PROXY_ADMIN_PORT: String(ports.proxyAdmin),
        PROXY_ADMIN_TOKEN: adminToken,
        PROXY_STATE_DIR: path.join(stateDir, 'proxy'),
        PROXY_CONTROL_DATABASE_URL: controlDb,
        PROXY_WORKERS: proxyWorkers,
        MONOLITH_URL: monolithUrl,
        DEVICE_MANAGEMENT_URL: deviceManagementUrl,
        TELEMETRY_URL: telemetryUrl,
        // read-your-writes pins wait for the exact WAL position of a write (the pool is read-only)
        PROXY_CDC_SOURCE_DATABASE_URL: backbone.monolithUrl,
        PROXY_OIDC_ISSUER: issuer,
        PROXY_OIDC_AUDIENCE: API_AUDIENCE,
        // the admin API takes the demo users' tokens too: alice is strangler:operator, bob strangler:viewer
        PROXY_ADMIN_OIDC_AUDIENCE: API_AUDIENCE,
      },
      stateDir,
      registry,
    });
    apps.push(proxy);
    await waitForHttp(proxy, `${adminUrl}/ready`, { alsoListensOn: [ports.proxy] });

    const monitorUrl = `http://127.0.0.1:${ports.cdcMonitor}`;
    const monitor = startNodeService({
      name: 'cdc-monitor',
      entry: 'cdc-monitor/src/main.ts',
      env: {
        CONNECT_URL: backbone.connect.url,
        MONOLITH_DATABASE_URL: backbone.monolithSuperuserUrl,
        KAFKA_BROKERS: backbone.kafka.bootstrap,
        CONSUMER_GROUPS:
          'device-management.heating-sync,device-management.write-back,telemetry.projector,telemetry.cdc-feed',
        MONITOR_PORT: String(ports.cdcMonitor),
        REPLICATION_SLOTS: byo?.source.slot ?? SLOT,
        MONITOR_TOKEN: adminToken,
        DEVICE_MANAGEMENT_DATABASE_URL: deviceManagementDb,
        DRIFT_INTERVAL_SECONDS: '300',
        PROXY_ADMIN_URL: adminUrl,
        PROXY_ADMIN_TOKEN: adminToken,
        // people sign in with the demo provider; their route changes carry their own token to the proxy
        MONITOR_OIDC_ISSUER: issuer,
        MONITOR_OIDC_CLIENT_ID: 'warm-house-dashboard',
        MONITOR_OIDC_CLIENT_SECRET: idpSecret,
        MONITOR_PUBLIC_URL: monitorUrl,
        MONITOR_SESSION_SECRET: randomBytes(32).toString('base64url'),
        // the consuming services the heartbeat probe times (each answers GET /cdc/applied)
        CDC_MONITOR_SERVICES: `device-management=${deviceManagementUrl},telemetry=${telemetryUrl}`,
      },
      stateDir,
      registry,
    });
    apps.push(monitor);
    await waitForHttp(monitor, `${monitorUrl}/healthz`);

    const rows: Array<[string, string]> = [
      ['proxy (clients use this)', `${proxyUrl}/api/heating/1  (PROXY_WORKERS=${proxyWorkers})`],
      ['proxy admin API', `${adminUrl}/api/routes  (Swagger UI ${adminUrl}/docs)`],
      [
        'migration dashboard',
        `${monitorUrl}/  (sign in with the admin token; JSON ${monitorUrl}/api/cdc, live ${monitorUrl}/api/dashboard/events)`,
      ],
      [
        'dashboard as a person',
        `${monitorUrl}/ → "Sign in with your account" → login user-alice (changes routes) or user-bob (read-only), any password (the demo provider's development login page)`,
      ],
      ['proxy admin token', `${adminToken}  (also in ${path.join(stateDir, 'admin-token')})`],
      ['CLI', `STRANGLER_ADMIN_URL=${adminUrl} STRANGLER_ADMIN_TOKEN=… npx strangler routes list`],
      [
        'CLI as a person',
        `STRANGLER_ACCESS_TOKEN=<alice's access_token, below> npx strangler route set …  (bob's token reads only)`,
      ],
      [
        'identity provider (demo)',
        `${issuer}  (users alice / bob, passwords alice-demo / bob-demo; admin roles alice strangler:operator, bob strangler:viewer)`,
      ],
      [
        'a user token',
        `curl -s -u warm-house-web:${idpSecret} -d grant_type=password -d username=alice -d password=alice-demo -d scope='devices:read devices:write' ${issuer}/token`,
      ],
      [
        'a gateway token',
        `curl -s -u gateway-demo:${idpSecret} -d grant_type=client_credentials -d scope=telemetry:ingest ${issuer}/token`,
      ],
      [byo ? 'your monolith (HTTP)' : 'monolith stand-in (HTTP)', monolithUrl],
      ['device management', `${deviceManagementUrl}/api/v1/devices  (Swagger UI ${deviceManagementUrl}/docs)`],
      ['telemetry', `${telemetryUrl}/api/v1/telemetry  (Swagger UI ${telemetryUrl}/api/v1/telemetry/docs)`],
      [byo ? 'your monolith database' : 'PostgreSQL (smart_home)', backbone.monolithUrl.replace(/:[^:@/]+@/, ':***@')],
      ['PostgreSQL superuser', backbone.postgres.superuserUrl],
      ['proxy control store', controlDb.replace(/:[^:@/]+@/, ':***@')],
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
  exitOnPortsInUse(err, '[stack]'); // one line, exit 3: a port of the stack is taken (nothing was started)
  process.stderr.write(`[stack] failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
