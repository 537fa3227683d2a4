import type { CdcReads, CdcRequest } from '../cdc/cdc-reads';
import { LOG_EVENTS } from '../log-events';
import type { PipelineContext } from './context';
import type { Exchange, Next, Policy } from './exchange';

function cdcRequest(ex: Exchange): CdcRequest {
  const { req, decision } = ex;
  return {
    route: decision.route,
    upstream: decision.upstream,
    method: req.method!,
    url: req.url!,
    headers: req.headers,
    clientAddress: req.socket.remoteAddress,
    prepared: ex.pins,
  };
}

/**
 * CDC-aware reads, first step: with the fleet's shared pins, looks the key up (read) or pins it (write) in the
 * control store; then a read the service has not caught up with (lag, unknown, pinned key) goes to the source.
 */
export function cdcRouting(ctx: PipelineContext, cdc: CdcReads): Policy {
  const routed: Policy = (ex, next, done) => {
    const verdict = cdc.route(cdcRequest(ex), ex.requestId);
    if (verdict.upstream !== ex.decision.upstream) ex.decision = { ...ex.decision, upstream: verdict.upstream };
    ex.cdcReason = verdict.reason;
    next(ex, done);
  };
  return (ex, next, done) => {
    if (!ex.decision.route?.cdc) return next(ex, done);
    const prepared = cdc.prepare(cdcRequest(ex));
    if (prepared === undefined) return routed(ex, next, done);
    prepared.then(
      (pins) => {
        ex.pins = pins;
        routed(ex, next, done);
      },
      (err: unknown) => {
        ctx.log.error({ event: LOG_EVENTS.internalError, err, requestId: ex.requestId }, 'CDC pin step failed');
        ex.pins = { unavailable: true };
        routed(ex, next, done);
      },
    );
  };
}

/**
 * CDC-aware reads, second step (after admission): a write sent to the source pins its key until the service has
 * applied it; the pin is dropped when the source refused the write (no clean 2xx), kept when the answer broke.
 */
export function cdcPinning(cdc: CdcReads): Policy {
  return (ex, next: Next, done) => {
    const settle = ex.decision.route?.cdc ? cdc.write(cdcRequest(ex)) : undefined;
    if (settle === undefined) return next(ex, done);
    next(ex, (outcome) => {
      settle(outcome.error === undefined && outcome.fallback === undefined ? outcome.status : undefined);
      done(outcome);
    });
  };
}
