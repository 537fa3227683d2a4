/**
 * What `npm run images:smoke` runs, as data: one container per component on host networking, configured as
 * `npm start` configures the same processes (scripts/stack/start.ts), on the ports of a test stack, and the
 * migrations Jobs as the chart runs them (node-pg-migrate in the service's image). Pure: no engine here.
 */
import type { StackPorts } from '../stack/layout';
import { localImage } from './components';

export interface ContainerSpec {
  /** component name (container name suffix) */
  name: string;
  image: string;
  env: Record<string, string>;
  /** replaces the image's CMD */
  args?: string[];
  /** read-only bind mounts: host path → container path */
  mounts?: Array<{ from: string; to: string }>;
  /** polled until it answers 2xx (services only) */
  readyUrl?: string;
}

export interface SmokeEndpoints {
  ports: StackPorts;
  kafkaBootstrap: string;
  connectUrl: string;
  /** the monolith role's URL of smart_home, and the superuser's (the monitor reads slots and heartbeats) */
  monolithUrl: string;
  monolithSuperuserUrl: string;
  databases: { deviceManagement: string; telemetry: string; control: string };
  adminToken: string;
}

const image = (name: string) => localImage({ image: `warm-house-${name}` });
const local = (port: number, p = '') => `http://127.0.0.1:${port}${p}`;

/** The Connect container: the image's worker with a properties file mounted over its default one. */
export function connectContainer(propertiesFile: string): ContainerSpec {
  return {
    name: 'connect',
    image: image('connect'),
    env: { JAVA_TOOL_OPTIONS: '-Xmx512m' },
    mounts: [{ from: propertiesFile, to: '/opt/kafka/config/connect-distributed.properties' }],
  };
}

/** The migrations Jobs: each service's image running node-pg-migrate, as helm/warm-house's pre-install Job does. */
export function migrationJobs(e: SmokeEndpoints): ContainerSpec[] {
  const job = (name: string, imageOf: string, dir: string, url: string): ContainerSpec => ({
    name: `migrate-${name}`,
    image: image(imageOf),
    env: { DATABASE_URL: url },
    args: [
      'node_modules/node-pg-migrate/bin/node-pg-migrate.js',
      'up',
      '--migrations-dir',
      dir,
      '--migrations-table',
      'pgmigrations',
    ],
  });
  return [
    job('proxy', 'proxy', 'migrations/proxy', e.databases.control),
    job('device-management', 'device-management', 'migrations/device-management', e.databases.deviceManagement),
    job('telemetry', 'telemetry', 'migrations/telemetry', e.databases.telemetry),
  ];
}

/**
 * An extracted service's container: on loopback at `port`, its own database, healthy once `/health/live` answers
 * and ready once `/health/ready` does.
 */
function extractedService(
  name: 'device-management' | 'telemetry',
  opts: { port: number; databaseUrl: string; env: Record<string, string> },
): ContainerSpec {
  const url = local(opts.port);
  return {
    name,
    image: image(name),
    env: {
      HOST: '127.0.0.1',
      PORT: String(opts.port),
      DATABASE_URL: opts.databaseUrl,
      ...opts.env,
      HEALTHCHECK_URL: `${url}/health/live`,
    },
    readyUrl: `${url}/health/ready`,
  };
}

/** The long-running components, in start order (each waited for before the next, as `npm start` does). */
export function serviceContainers(e: SmokeEndpoints): ContainerSpec[] {
  const { ports } = e;
  const urls = {
    monolith: local(ports.monolith),
    deviceManagement: local(ports.deviceManagement),
    telemetry: local(ports.telemetry),
    admin: local(ports.proxyAdmin),
  };
  const health = (url: string) => ({ HEALTHCHECK_URL: url });
  return [
    {
      name: 'monolith-standin',
      image: image('monolith-standin'),
      env: {
        MONOLITH_HOST: '127.0.0.1',
        MONOLITH_PORT: String(ports.monolith),
        MONOLITH_DATABASE_URL: e.monolithUrl,
        ...health(`${urls.monolith}/api/heating/1`),
      },
      readyUrl: `${urls.monolith}/api/heating/1`,
    },
    extractedService('device-management', {
      port: ports.deviceManagement,
      databaseUrl: e.databases.deviceManagement,
      env: { MONOLITH_DATABASE_URL: e.monolithUrl, KAFKA_BROKERS: e.kafkaBootstrap },
    }),
    extractedService('telemetry', {
      port: ports.telemetry,
      databaseUrl: e.databases.telemetry,
      env: { KAFKA_BROKERS: e.kafkaBootstrap },
    }),
    {
      name: 'proxy',
      image: image('proxy'),
      env: {
        PROXY_HOST: '127.0.0.1',
        PROXY_PORT: String(ports.proxy),
        PROXY_ADMIN_HOST: '127.0.0.1',
        PROXY_ADMIN_PORT: String(ports.proxyAdmin),
        PROXY_ADMIN_TOKEN: e.adminToken,
        PROXY_STATE_DIR: '/tmp/strangler',
        PROXY_CONTROL_DATABASE_URL: e.databases.control,
        PROXY_WORKERS: '1',
        MONOLITH_URL: urls.monolith,
        DEVICE_MANAGEMENT_URL: urls.deviceManagement,
        TELEMETRY_URL: urls.telemetry,
        PROXY_CDC_SOURCE_DATABASE_URL: e.monolithUrl,
        ...health(`${urls.admin}/health`),
      },
      readyUrl: `${urls.admin}/ready`,
    },
    {
      name: 'cdc-monitor',
      image: image('cdc-monitor'),
      env: {
        CONNECT_URL: e.connectUrl,
        MONOLITH_DATABASE_URL: e.monolithSuperuserUrl,
        KAFKA_BROKERS: e.kafkaBootstrap,
        CONSUMER_GROUPS:
          'device-management.heating-sync,device-management.write-back,telemetry.projector,telemetry.cdc-feed',
        MONITOR_HOST: '127.0.0.1',
        MONITOR_PORT: String(ports.cdcMonitor),
        MONITOR_TOKEN: e.adminToken,
        DEVICE_MANAGEMENT_DATABASE_URL: e.databases.deviceManagement,
        PROXY_ADMIN_URL: urls.admin,
        PROXY_ADMIN_TOKEN: e.adminToken,
        CDC_MONITOR_SERVICES: `device-management=${urls.deviceManagement},telemetry=${urls.telemetry}`,
        ...health(`${local(ports.cdcMonitor)}/healthz`),
      },
      readyUrl: `${local(ports.cdcMonitor)}/healthz`,
    },
  ];
}

/**
 * `podman run` arguments of a container: detached, host networking, hardened as docker-compose.yml and the chart
 * run them (read-only root, a tmpfs /tmp, no capabilities, no privilege gain), labelled so a later run finds
 * leftovers of a crashed one.
 */
export function runArgs(spec: ContainerSpec, o: { namePrefix: string; label: string }): string[] {
  return [
    'run',
    '--detach',
    '--network=host',
    '--read-only',
    '--tmpfs=/tmp',
    '--cap-drop=ALL',
    '--security-opt=no-new-privileges',
    `--name=${o.namePrefix}-${spec.name}`,
    `--label=${o.label}`,
    ...Object.entries(spec.env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
    ...(spec.mounts ?? []).flatMap((m) => ['--volume', `${m.from}:${m.to}:ro`]),
    spec.image,
    ...(spec.args ?? []),
  ];
}
