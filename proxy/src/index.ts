export { createProxy, type ProxyOptions, type StranglerProxy } from './proxy';
export { createAdminApp, type AdminOptions } from './admin/app';
export { startStrangler, type RunningStrangler } from './server';
export type { FleetLink, Gathered, WorkerIdentity, MissingWorker, SlotInfo } from './fleet/link';
export { loadProxyConfig, PROXY_ENV, type ProxyConfig } from './config';
export { decide, findRoute, DEFAULT_ROUTE_ID, type Decision } from './routing/decide';
export { parseRequestTarget, type ParsedTarget } from './routing/request-target';
export {
  compileTable,
  type CompiledTable,
  type CompiledRoute,
  type CompiledUpstream,
  type TableIssue,
} from './table/compile';
export {
  RouteTableStore,
  type ChangeMeta,
  type TableSource,
  type ApplyResult,
  type RejectedChange,
} from './table/store';
export {
  RouteSchema,
  UpstreamSchema,
  TableSpecSchema,
  type RouteSpec,
  type UpstreamSpec,
  type TableSpec,
  type TableSpecInput,
} from './table/schema';
export type { AuditEntry } from './table/audit';
export { ProxyMetrics } from './metrics';
export type { StatsSnapshot, RouteWindowStats, TargetStats, ShadowStats } from './stats/route-stats';
export { UpstreamPools } from './forward/pools';
export { PROXY_ERRORS, ProxyError, type ProxyErrorCode, type ProxyStage } from './errors';
