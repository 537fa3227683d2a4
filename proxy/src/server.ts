import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { Logger } from '@warmhouse/shared';
import { createAdminApp } from './admin/app';
import { CdcReads } from './cdc/cdc-reads';
import { PinStore } from './cdc/pins';
import { AppliedPoller } from './cdc/poller';
import { WalPosition } from './cdc/wal';
import type { ProxyConfig } from './config';
import { localLink, type FleetLink } from './fleet/link';
import { LOG_EVENTS } from './log-events';
import { ProxyMetrics } from './metrics';
import { createProxy, type StranglerProxy } from './proxy';
import { PlanProgressStore } from './plan/progress';
import { PlanRunner } from './plan/runner';
import { RouteStats } from './stats/route-stats';
import { RouteTableStore } from './table/store';
import { watchFile } from './table/watch';

/** A running proxy: client and admin servers listening, file watched. */
export interface RunningStrangler {
  readonly proxy: StranglerProxy;
  readonly store: RouteTableStore;
  readonly plans: PlanRunner;
  /** CDC-aware reads: upstream reports, counters, pins */
  readonly cdc: CdcReads;
  /** The worker processes beside this one (PROXY_WORKERS); gathers per-process figures from all of them. */
  readonly fleet: FleetLink;
  readonly proxyUrl: string;
  readonly adminUrl: string;
  stop(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function urlOf(a: AddressInfo): string {
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${a.port}`;
}

/**
 * Wires everything from a config: table store (persisted state + routes file), proxy, admin API,
 * metrics, file watch; listens on both ports. `env` resolves `${VAR}` placeholders of upstream URLs.
 */
export async function startStrangler(
  config: ProxyConfig,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
  fleet: FleetLink = localLink(),
): Promise<RunningStrangler> {
  const store = RouteTableStore.open({
    routesFile: config.PROXY_ROUTES_FILE,
    stateDir: config.PROXY_STATE_DIR,
    env,
    logger,
  });
  const metrics = new ProxyMetrics({ defaultMetrics: true });
  metrics.setTableVersion(store.current.version);
  const stats = new RouteStats(config.PROXY_STATS_WINDOW_SECONDS);
  const plans = new PlanRunner(store, stats, logger.child({ module: 'plan' }), {
    tickMs: config.PROXY_PLAN_TICK_MS,
    progress: new PlanProgressStore(config.PROXY_STATE_DIR),
  });
  const wal = config.PROXY_CDC_SOURCE_DATABASE_URL
    ? new WalPosition(config.PROXY_CDC_SOURCE_DATABASE_URL, config.PROXY_CDC_WAL_TIMEOUT_MS)
    : undefined;
  const cdc = new CdcReads({
    poller: new AppliedPoller({
      intervalMs: config.PROXY_CDC_POLL_MS,
      timeoutMs: config.PROXY_CDC_POLL_TIMEOUT_MS,
      logger: logger.child({ module: 'cdc' }),
      onFailure: (upstream) => metrics.cdcPollFailed(upstream),
    }),
    pins: new PinStore(config.PROXY_CDC_MAX_PINS, 15_000),
    wal,
    settings: {
      topicPrefix: config.PROXY_CDC_TOPIC_PREFIX,
      heartbeatTable: config.PROXY_CDC_HEARTBEAT_TABLE,
      staleAfterMs: config.PROXY_CDC_STALE_AFTER_MS,
      clockSkewMs: config.PROXY_CDC_CLOCK_SKEW_MS,
    },
    metrics,
    logger: logger.child({ module: 'cdc' }),
  });
  cdc.sync(store.current);
  metrics.cdcGaugeSource(() => cdc.gauges(store.current));
  const proxy = createProxy({
    stats,
    table: store,
    logger,
    metrics,
    maxBodyBytes: config.PROXY_MAX_BODY_BYTES,
    maxHeaderBytes: config.PROXY_MAX_HEADER_BYTES,
    clientTimeouts: {
      requestMs: config.PROXY_CLIENT_REQUEST_TIMEOUT_MS,
      headersMs: config.PROXY_CLIENT_HEADERS_TIMEOUT_MS,
      keepAliveMs: config.PROXY_KEEP_ALIVE_TIMEOUT_MS,
    },
    decisionHeaders: config.PROXY_DECISION_HEADERS,
    cdc,
  });
  store.onChange((table, _entries, meta) => {
    metrics.tableApplied(table.version, meta.source);
    proxy.pools.retain(table);
    cdc.sync(table);
  });
  store.onReject((r) => metrics.tableRejected(r.source));

  let accepting = false;
  const admin = createAdminApp({
    store,
    metrics,
    shadower: proxy.shadower,
    breakers: proxy.breakers,
    stats,
    plans,
    cdc,
    logger,
    token: config.PROXY_ADMIN_TOKEN,
    insecureDev: config.PROXY_INSECURE_DEV_ADMIN,
    ready: () => accepting,
    fleet,
  });
  const adminHttp = createServer(admin);
  const adminAddr = await listen(adminHttp, config.PROXY_ADMIN_PORT, config.PROXY_ADMIN_HOST);
  const proxyAddr = await listen(proxy.server, config.PROXY_PORT, config.PROXY_HOST);
  accepting = true;
  plans.start();

  const stopWatching = config.PROXY_WATCH_ROUTES_FILE
    ? watchFile(
        config.PROXY_ROUTES_FILE,
        () => store.reloadFile(),
        (err) => logger.error({ event: LOG_EVENTS.tableFileWatchError, err }, 'cannot watch the routes file'),
      )
    : () => undefined;

  const proxyUrl = urlOf(proxyAddr);
  const adminUrl = urlOf(adminAddr);
  logger.info(
    {
      event: LOG_EVENTS.listening,
      proxyUrl,
      adminUrl,
      tableVersion: store.current.version,
      routesFile: config.PROXY_ROUTES_FILE,
      stateDir: config.PROXY_STATE_DIR,
    },
    `strangler proxy listening on ${proxyUrl} (admin API ${adminUrl}, docs ${adminUrl}/docs)`,
  );

  return {
    proxy,
    store,
    plans,
    cdc,
    fleet,
    proxyUrl,
    adminUrl,
    async stop() {
      accepting = false;
      plans.stop();
      stopWatching();
      await proxy.close(config.PROXY_SHUTDOWN_GRACE_MS);
      cdc.close();
      await wal?.close();
      await new Promise<void>((resolve) => {
        adminHttp.close(() => resolve());
        adminHttp.closeAllConnections();
      });
    },
  };
}
