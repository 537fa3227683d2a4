import type express from 'express';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { sendProblem } from '@warmhouse/shared';
import type { CdcReads } from '../cdc/cdc-reads';
import { problemBody } from '../errors';
import type { CircuitBreakers } from '../forward/breaker';
import type { FleetLink } from '../fleet/link';
import {
  mergeBreakers,
  mergeCdc,
  mergeMetrics,
  mergeShadow,
  mergeShadowRoute,
  mergeWorkers,
  type BreakersView,
  type CdcView,
  type ShadowRouteView,
  type ShadowView,
  type WorkerSelf,
} from '../fleet/merge';
import type { ProxyMetrics } from '../metrics';
import type { Shadower } from '../shadow/shadower';
import type { RouteTableStore } from '../table/store';

/** Gather topics of the admin API's per-process views. */
export const VIEW_TOPICS = {
  shadow: 'admin.shadow',
  shadowRoute: 'admin.shadow-route',
  breakers: 'admin.breakers',
  cdc: 'admin.cdc',
  metrics: 'admin.metrics',
  worker: 'admin.worker',
} as const;

/**
 * The admin endpoints whose figures live in each process's memory — `GET /api/shadow`, `/api/shadow/{id}`,
 * `/api/breakers`, `/api/cdc`, `/metrics` — answered for every worker whichever worker the admin connection reached:
 * this worker registers its own view with the fleet link, and an endpoint gathers every worker's view and merges it
 * (../fleet/merge.ts). `GET /api/fleet/workers` lists the workers. With one worker the answers are the process's own,
 * in the shapes they always had.
 */
export function mountFleetViews(
  app: express.Express,
  options: {
    fleet: FleetLink;
    store: RouteTableStore;
    metrics: ProxyMetrics;
    shadower?: Shadower;
    breakers?: CircuitBreakers;
    cdc?: CdcReads;
  },
): void {
  const { fleet, store, metrics } = options;
  const startedAt = Date.now();

  fleet.answer(VIEW_TOPICS.shadow, (): ShadowView => ({
    routes: options.shadower?.stats() ?? {},
    inFlight: options.shadower?.pending() ?? 0,
    circuits: options.shadower?.circuits.snapshot() ?? {},
  }));
  fleet.answer(VIEW_TOPICS.shadowRoute, (params): ShadowRouteView => {
    const id = String((params as { id?: unknown }).id);
    const route = store.current.spec.routes.find((r) => r.id === id);
    const data = options.shadower?.route(id);
    return { route: id, mode: route?.mode ?? '', counters: data?.counters ?? null, diffs: data?.diffs ?? [] };
  });
  fleet.answer(VIEW_TOPICS.breakers, (): BreakersView => ({ upstreams: options.breakers?.snapshot() ?? {} }));
  fleet.answer(
    VIEW_TOPICS.cdc,
    (): CdcView =>
      (options.cdc?.stats(store.current) as CdcView | undefined) ?? {
        settings: null,
        upstreams: {},
        routes: {},
        pins: null,
      },
  );
  fleet.answer(VIEW_TOPICS.metrics, () => metrics.registry.getMetricsAsJSON());
  fleet.answer(VIEW_TOPICS.worker, (): WorkerSelf => ({
    slot: fleet.self.slot,
    pid: fleet.self.pid,
    tableVersion: store.current.version,
    requests: metrics.requestsAnswered(),
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    rssBytes: process.memoryUsage.rss(),
  }));

  app.get('/metrics', async (_req, res) => {
    if (fleet.expected === 1) {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
      return;
    }
    const g = await fleet.gather<MetricObjectWithValues<MetricValue<string>>[]>(VIEW_TOPICS.metrics);
    const merged = mergeMetrics(g);
    res.type(metrics.registry.contentType).send(await merged.metrics());
  });

  app.get('/api/shadow', async (_req, res) => {
    res.json(mergeShadow(await fleet.gather<ShadowView>(VIEW_TOPICS.shadow)));
  });
  app.get('/api/shadow/:id', async (req, res) => {
    const route = store.current.spec.routes.find((r) => r.id === req.params.id);
    if (!route) {
      sendProblem(res, problemBody('PROXY_ERR_ROUTE_NOT_FOUND', { message: `no route "${req.params.id}"` }));
      return;
    }
    const g = await fleet.gather<ShadowRouteView>(VIEW_TOPICS.shadowRoute, { id: route.id });
    res.json(mergeShadowRoute(g, route.shadow?.keepDiffs ?? 20));
  });
  app.get('/api/breakers', async (_req, res) => {
    res.json(mergeBreakers(await fleet.gather<BreakersView>(VIEW_TOPICS.breakers)));
  });
  app.get('/api/cdc', async (_req, res) => {
    res.json(mergeCdc(await fleet.gather<CdcView>(VIEW_TOPICS.cdc)));
  });
  app.get('/api/fleet/workers', async (_req, res) => {
    res.json(mergeWorkers(await fleet.gather<WorkerSelf>(VIEW_TOPICS.worker)));
  });
}
