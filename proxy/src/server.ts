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
import { authenticatorFromConfig, verifierFromConfig } from './auth/from-config';
import { createProxy, type StranglerProxy } from './proxy';
import { PlanProgressStore } from './plan/progress';
import { PlanRunner } from './plan/runner';
import { RouteStats } from './stats/route-stats';
import { RouteTableStore } from './table/store';
import { watchFile } from './table/watch';
import { ControlDatabase } from './control/database';
import { FleetRegistry } from './control/fleet';
import { PgBackend, TABLE_CHANNEL } from './control/pg-backend';
import { StoreSubscriber } from './control/subscriber';
import { SharedPins } from './control/shared-pins';
import { FleetEvidence } from './control/evidence';
import { PlanLease } from './control/lease';
import { PgPlanProgress } from './control/plan-progress';

/** A running proxy: client and admin servers listening, file watched. */
export interface RunningStrangler {
  readonly proxy: StranglerProxy;
  readonly store: RouteTableStore;
  readonly plans: PlanRunner;
  /** CDC-aware reads: upstream reports, counters, pins */
  readonly cdc: CdcReads;
  /** The fleet registry; absent without a control store. */
  readonly fleet: FleetRegistry | undefined;
  /** The worker processes beside this one (PROXY_WORKERS); gathers per-process figures from all of them. */
  readonly workers: FleetLink;
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
  workers: FleetLink = localLink(),
): Promise<RunningStrangler> {
  const db = config.PROXY_CONTROL_DATABASE_URL
    ? new ControlDatabase({
        url: config.PROXY_CONTROL_DATABASE_URL,
        logger: logger.child({ module: 'control' }),
        timeoutMs: config.PROXY_CONTROL_TIMEOUT_MS,
      })
    : undefined;
  const store = await RouteTableStore.open({
    routesFile: config.PROXY_ROUTES_FILE,
    stateDir: config.PROXY_STATE_DIR,
    ...(db ? { backend: new PgBackend(db) } : {}),
    env,
    logger,
    now: () => new Date(),
  }).catch(async (err: unknown) => {
    await db?.close();
    throw err;
  });
  const metrics = new ProxyMetrics({ defaultMetrics: true });
  metrics.setTableVersion(store.current.version);
  let storeReachable = store.servingFrom === 'store';
  const reportStore = () =>
    metrics.controlStoreState({ reachable: storeReachable, servingRoutesFile: store.servingFrom !== 'store' });
  reportStore();
  const fleet = db
    ? new FleetRegistry({
        db,
        heartbeatMs: config.PROXY_FLEET_HEARTBEAT_MS,
        status: () => ({
          versionServed: store.current.version,
          servingFrom: store.servingFrom,
          ...(store.lastRejected?.source === 'store' ? { refused: store.lastRejected } : {}),
        }),
        logger: logger.child({ module: 'fleet' }),
      })
    : undefined;
  const subscriber = db
    ? new StoreSubscriber({
        url: db.url,
        channel: TABLE_CHANNEL,
        pollMs: config.PROXY_CONTROL_POLL_MS,
        onSignal: () => store.sync(),
        onReachable: (reachable) => {
          storeReachable = reachable;
          reportStore();
        },
        logger: logger.child({ module: 'control' }),
      })
    : undefined;
  const stats = new RouteStats(config.PROXY_STATS_WINDOW_SECONDS);
  // the fleet: one plan runner at a time (lease), deciding on every process's evidence
  const lease =
    db && fleet ? new PlanLease({ db, holder: fleet.processId, ttlMs: config.PROXY_PLAN_LEASE_MS }) : undefined;
  const evidence =
    db && fleet
      ? new FleetEvidence({
          db,
          processId: fleet.processId,
          stats,
          table: store,
          publishMs: config.PROXY_EVIDENCE_PUBLISH_MS,
          logger: logger.child({ module: 'plan' }),
        })
      : undefined;
  const plans = new PlanRunner(store, stats, logger.child({ module: 'plan' }), {
    tickMs: config.PROXY_PLAN_TICK_MS,
    ...(db && lease && evidence
      ? { fleet: { lease, evidence, progress: new PgPlanProgress(db, lease) } }
      : { progress: new PlanProgressStore(config.PROXY_STATE_DIR) }),
  });
  const sharedPins = db
    ? new SharedPins({ db, max: config.PROXY_CDC_MAX_PINS, logger: logger.child({ module: 'cdc' }) })
    : undefined;
  const sweepTimer = sharedPins
    ? setInterval(() => void sharedPins.sweep().catch(() => undefined), 10_000).unref()
    : undefined;
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
    ...(sharedPins ? { shared: sharedPins } : {}),
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
  metrics.planStatusSource(() =>
    store.current.spec.routes.flatMap((r) => (r.plan ? [{ route: r.id, status: r.plan.status }] : [])),
  );
  const verifier = verifierFromConfig(config, logger.child({ module: 'auth' }));
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
    trustedPeers: config.PROXY_TRUSTED_PEERS,
    authenticator: authenticatorFromConfig(config, verifier),
    cdc,
  });
  store.onChange((table, _entries, meta) => {
    metrics.tableApplied(table.version, meta.source);
    reportStore();
    proxy.pools.retain(table);
    cdc.sync(table);
    void fleet?.beat();
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
    ...(verifier && config.PROXY_ADMIN_OIDC_AUDIENCE
      ? { oidc: { verifier, audience: config.PROXY_ADMIN_OIDC_AUDIENCE } }
      : {}),
    ready: () => accepting,
    ...(fleet ? { fleet, storeReachable: () => storeReachable } : {}),
    ...(lease ? { lease } : {}),
    ...(evidence ? { fleetStats: evidence } : {}),
    workers,
  });
  const adminHttp = createServer(admin);
  const adminAddr = await listen(adminHttp, config.PROXY_ADMIN_PORT, config.PROXY_ADMIN_HOST);
  const proxyAddr = await listen(proxy.server, config.PROXY_PORT, config.PROXY_HOST);
  accepting = true;
  subscriber?.start();
  fleet?.start();
  evidence?.start();
  plans.start();

  const stopWatching = config.PROXY_WATCH_ROUTES_FILE
    ? watchFile(
        config.PROXY_ROUTES_FILE,
        () =>
          void store
            .reloadFile()
            .catch((err: unknown) =>
              logger.error({ event: LOG_EVENTS.tableFileWatchError, err }, 'routes file change not applied'),
            ),
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
    workers,
    proxyUrl,
    adminUrl,
    async stop() {
      accepting = false;
      await plans.stop();
      await evidence?.stop();
      stopWatching();
      await proxy.close(config.PROXY_SHUTDOWN_GRACE_MS);
      cdc.close();
      await wal?.close();
      clearInterval(sweepTimer);
      await subscriber?.stop();
      await fleet?.stop();
      await db?.close();
      await new Promise<void>((resolve) => {
        adminHttp.close(() => resolve());
        adminHttp.closeAllConnections();
      });
    },
  };
}
