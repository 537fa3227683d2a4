import { createServer } from 'node:http';
import { Kafka, logLevel } from 'kafkajs';
import { Pool } from 'pg';
import { createLogger, runMain } from '@warmhouse/shared';
import {
  createPersonSignIn,
  createSessionSealer,
  createHeartbeatProbe,
  loginPage,
  createMonitor,
  createMonitorHandler,
  loadMonitorConfig,
  startFreshnessTail,
} from './index';

runMain('cdc-monitor', async (onStop) => {
  const config = loadMonitorConfig();
  const logger = createLogger('cdc-monitor', config.LOG_LEVEL);
  const pool = new Pool({ connectionString: config.MONOLITH_DATABASE_URL, max: 3 });
  onStop(() => pool.end());
  const kafka = new Kafka({
    clientId: 'warmhouse-cdc-monitor',
    brokers: [...config.KAFKA_BROKERS],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  onStop(() => admin.disconnect());
  const deviceManagementPool = config.DEVICE_MANAGEMENT_DATABASE_URL
    ? new Pool({ connectionString: config.DEVICE_MANAGEMENT_DATABASE_URL, max: 2 })
    : undefined;
  if (deviceManagementPool) onStop(() => deviceManagementPool.end());
  const tail = await startFreshnessTail(kafka, config.CDC_TOPICS, logger);
  onStop(() => tail.stop());
  const probe =
    config.CDC_MONITOR_SERVICES.length > 0 && config.CDC_PROBE_INTERVAL_SECONDS > 0
      ? createHeartbeatProbe({
          pool,
          services: config.CDC_MONITOR_SERVICES,
          logger,
          topic: config.CDC_PROBE_TOPIC,
          rowId: config.CDC_PROBE_ROW_ID,
          intervalMs: config.CDC_PROBE_INTERVAL_SECONDS * 1000,
          alarmSeconds: config.CDC_PROBE_ALARM_SECONDS,
        })
      : undefined;
  if (probe) {
    probe.start();
    onStop(() => probe.stop());
  }
  const monitor = createMonitor({
    connectUrl: config.CONNECT_URL,
    connectors: config.CONNECTORS,
    pool,
    slots: config.REPLICATION_SLOTS,
    admin,
    consumerGroups: config.CONSUMER_GROUPS,
    topics: config.CDC_TOPICS,
    freshnessAlarmTopics: config.FRESHNESS_ALARM_TOPICS,
    lastChanges: tail.last,
    thresholds: {
      walRetainedAlarmBytes: config.WAL_RETAINED_ALARM_BYTES,
      freshnessAlarmSeconds: config.FRESHNESS_ALARM_SECONDS,
      heartbeatAlarmSeconds: config.HEARTBEAT_ALARM_SECONDS,
    },
    logger,
    deviceManagementPool,
    driftRangeSize: config.DRIFT_RANGE_SIZE,
    probe,
  });
  if (deviceManagementPool && config.DRIFT_INTERVAL_SECONDS > 0) {
    const timer = setInterval(() => {
      monitor
        .checkDrift()
        .catch((err: unknown) => logger.warn({ event: 'cdc_drift_check_failed', err }, 'drift check failed'));
    }, config.DRIFT_INTERVAL_SECONDS * 1000);
    onStop(() => clearInterval(timer));
  }
  // openid-client is ESM-only: loaded here (tsx), never by the modules jest imports
  const signIn = config.oidc
    ? createPersonSignIn({
        settings: config.oidc,
        flow: (await import('./oidc-flow')).createOidcFlow(config.oidc, logger),
        sealer: createSessionSealer({ secret: config.oidc.sessionSecret }),
        logger,
        loginPage: (message) => loginPage({ oidc: true, ...(message !== undefined ? { message } : {}) }),
      })
    : undefined;
  const handler = createMonitorHandler({
    ...(signIn ? { signIn } : {}),
    monitor,
    token: config.MONITOR_TOKEN,
    logger,
    proxyAdmin: { url: config.PROXY_ADMIN_URL, token: config.PROXY_ADMIN_TOKEN },
    pushIntervalMs: Math.max(500, config.DASHBOARD_PUSH_SECONDS * 1000),
    historySampleMs: Math.max(500, config.DASHBOARD_PUSH_SECONDS * 1000),
  });
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(config.MONITOR_PORT, config.MONITOR_HOST, resolve));
  onStop(
    () =>
      new Promise<void>((resolve) => {
        handler.close(); // ends the dashboards' event streams, which would keep the server open
        server.close(() => resolve());
      }),
  );
  const url = `http://${config.MONITOR_HOST}:${config.MONITOR_PORT}`;
  logger.info(
    { event: 'cdc_monitor_listening', url },
    `CDC monitor: dashboard ${url}/ (API ${url}/api/cdc, events ${url}/api/dashboard/events, metrics ${url}/metrics)`,
  );
  return logger;
});
