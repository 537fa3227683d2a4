import { PROXY_ERRORS } from '../errors';
import type { ForwardOutcome } from '../forward/forwarder';
import { LOG_EVENTS } from '../log-events';
import { roleOf } from '../stats/route-stats';
import type { PipelineContext } from './context';
import type { Exchange } from './exchange';
import { verdictOf } from './failure';

/**
 * The `record` policy's work, in one place: what one exchange adds to the route statistics (which the plans
 * gate on), the Prometheus metrics and the log.
 */
export class Recorder {
  constructor(private readonly ctx: PipelineContext) {}

  /** One upstream exchange of a route in the rolling statistics (its upstream: the decision's). */
  exchange(ex: Exchange, failed: boolean): void {
    const { decision } = ex;
    const role = roleOf(decision.route?.spec, decision.upstream.name, this.ctx.table.current.spec);
    this.ctx.stats.request(decision.routeId, role, performance.now() - ex.arrivedAt, failed);
  }

  /** A forwarded exchange ended (a `fallback` outcome: failed, to be answered by the fallback). */
  forwarded(ex: Exchange, outcome: ForwardOutcome): void {
    const { metrics } = this.ctx;
    const target = ex.decision.upstream.name;
    const verdict = verdictOf(outcome);
    if (verdict !== 'abandoned') this.exchange(ex, verdict === 'failure');
    if (outcome.fallback !== undefined) {
      metrics.upstreamError(target, outcome.error?.stage ?? 'response-headers', outcome.fallback);
      return;
    }
    metrics.observe(ex.decision.routeId, target, outcome.status, (performance.now() - ex.arrivedAt) / 1000);
    if (outcome.error) this.failed(ex, outcome);
  }

  /** The fallback answers instead of the route's upstream. */
  fallback(ex: Exchange, to: string, reason: string): void {
    const { decision, requestId } = ex;
    this.ctx.metrics.fallback(decision.routeId, decision.upstream.name, to, reason);
    this.ctx.stats.fallback(decision.routeId);
    this.ctx.log.info(
      { event: LOG_EVENTS.fallback, route: decision.routeId, from: decision.upstream.name, to, reason, requestId },
      'answered from the fallback',
    );
  }

  private failed(ex: Exchange, outcome: ForwardOutcome): void {
    const { code, stage, cause } = outcome.error!;
    const upstream = ex.decision.upstream.name;
    const fields = {
      route: ex.decision.routeId,
      upstream,
      stage,
      code,
      requestId: ex.requestId,
      method: ex.req.method,
      url: ex.req.url,
      err: cause,
    };
    const { log, metrics } = this.ctx;
    if (outcome.clientAborted) log.info({ ...fields, event: LOG_EVENTS.clientAborted }, 'client went away');
    else if (PROXY_ERRORS[code].status >= 500) {
      metrics.upstreamError(upstream, stage, code);
      log.error({ ...fields, event: LOG_EVENTS.upstreamError }, 'forwarding failed');
    } else log.info({ ...fields, event: LOG_EVENTS.requestRefused }, 'request refused');
  }
}
