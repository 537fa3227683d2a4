import { forward } from '../forward/forwarder';
import { responseHeaders } from './answer';
import type { PipelineContext } from './context';
import type { Exchange, Next } from './exchange';
import type { Recorder } from './record';

/** Request body limit of an exchange: its upstream's, else the proxy's. */
export function bodyLimitOf(ctx: PipelineContext, ex: Exchange): number {
  return ex.decision.upstream.maxBodyBytes ?? ctx.maxBodyBytes;
}

/** Counts exchanges in flight, for draining on close. */
export interface FlightTracker {
  started(): void;
  ended(): void;
}

/**
 * The end of the pipeline: forwards the exchange to its decision's upstream (the forwarder streams both bodies),
 * then records it and reports the outcome.
 */
export function sendUpstream(ctx: PipelineContext, recorder: Recorder, tracker: FlightTracker): Next {
  return (ex, done) => {
    const { req, res, decision, requestId } = ex;
    const flight = ctx.metrics.flight(decision.upstream.name);
    flight.inc();
    tracker.started();
    forward(
      ctx.pools,
      {
        req,
        res,
        routeId: decision.routeId,
        upstream: decision.upstream,
        target: decision.target,
        requestId,
        maxBodyBytes: bodyLimitOf(ctx, ex),
        responseHeaders: responseHeaders(ex, ctx.decisionHeaders),
        arrivedAt: ctx.decisionHeaders ? ex.arrivedAt : undefined,
        own: ex.own,
        ...ex.forward,
      },
      (outcome) => {
        flight.dec();
        recorder.forwarded(ex, outcome);
        done(outcome);
        tracker.ended();
      },
    );
  };
}
