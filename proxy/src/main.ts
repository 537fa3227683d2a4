import cluster from 'node:cluster';
import { createLogger, runMain } from '@warmhouse/shared';
import { loadProxyConfig } from './config';
import { localLink, workerLink } from './fleet/link';
import { startWorkers, WORKER_SLOT_ENV } from './fleet/workers';
import { startStrangler } from './server';

// PROXY_WORKERS=1: this process is the proxy (no primary). More: this process is the cluster primary (it forks the
// workers, replaces one that dies, forwards SIGTERM/SIGINT, see ./fleet/workers.ts) and each worker, started from
// this same file, is a whole proxy linked to the others for the admin API's figures (./fleet/link.ts).
runMain('strangler-proxy', async (onStop) => {
  // every process validates the environment; the primary does it before forking, so a bad variable stops it once
  const config = loadProxyConfig(process.env);
  const base = createLogger('strangler-proxy', config.LOG_LEVEL);
  const workers = config.PROXY_WORKERS;
  if (workers > 1 && cluster.isPrimary) {
    const logger = base.child({ role: 'primary' });
    const fleet = await startWorkers({ workers, logger, shutdownGraceMs: config.PROXY_SHUTDOWN_GRACE_MS });
    onStop(() => fleet.stop());
    return logger;
  }
  const slot = Number(process.env[WORKER_SLOT_ENV] ?? 0);
  const fleet = cluster.isWorker ? workerLink({ self: { slot, pid: process.pid }, expected: workers }) : localLink();
  const logger = cluster.isWorker ? base.child({ worker: slot }) : base;
  const running = await startStrangler(config, logger, process.env, fleet);
  onStop(async () => {
    await running.stop(); // still answering the other workers' gathers while it drains
    fleet.close();
  });
  fleet.ready();
  return logger;
});
