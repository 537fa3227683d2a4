import type { Logger } from '@warmhouse/shared';
import type { Authenticator } from '../auth/authenticator';
import type { UpstreamPools } from '../forward/pools';
import type { TrustedPeers } from '../inbound/trusted-peers';
import type { ProxyMetrics } from '../metrics';
import type { RouteStats } from '../stats/route-stats';
import type { TableSource } from '../table/store';

/** What every stage of the pipeline may use; built once by `createProxy`. */
export interface PipelineContext {
  readonly table: TableSource;
  readonly log: Logger;
  readonly metrics: ProxyMetrics;
  readonly stats: RouteStats;
  readonly pools: UpstreamPools;
  /** Request body limit in bytes unless the upstream sets its own. */
  readonly maxBodyBytes: number;
  /** Add `X-Strangler-Route`, `-Upstream` and `-Proxy-Latency` to responses. */
  readonly decisionHeaders: boolean;
  /** Clients whose `X-Strangler-*` request fields are forwarded (everyone else's are removed). */
  readonly trustedPeers: TrustedPeers;
  /** Bearer-token checks of routes with `auth`. */
  readonly authenticator: Authenticator;
}
