import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { assignRequestId } from '@warmhouse/shared';

/** One answered request, as the observer reports it. */
export interface FinishedRequest {
  method: string;
  route: string;
  status: number;
  seconds: number;
}

export interface ObserveRequestsOptions {
  logger: Logger;
  /** a low-cardinality route label for a finished request (never the raw path); default: the path */
  routeOf?: (req: Request, res: Response) => string;
  /** route labels logged at debug only (scrapes and probes) */
  quietRoutes?: readonly string[];
  /** told of every answered request (e.g. to count it) */
  onFinish?: (request: FinishedRequest) => void;
}

/**
 * Express middleware: gives every request an id (`X-Request-Id`, taken from the caller or made), and when the
 * answer is sent logs one JSON line (errors for 5xx, debug for quiet routes) and reports it to `onFinish`.
 */
export function observeRequests({ logger, routeOf, quietRoutes = [], onFinish }: ObserveRequestsOptions) {
  const quiet = new Set(quietRoutes);
  return (req: Request, res: Response, next: NextFunction): void => {
    const requestId = assignRequestId(req, res);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeOf ? routeOf(req, res) : req.path;
      onFinish?.({ method: req.method, route, status: res.statusCode, seconds });
      const entry = {
        event: 'http_request',
        requestId,
        method: req.method,
        path: req.path,
        route,
        status: res.statusCode,
        ms: seconds * 1000,
      };
      if (res.statusCode >= 500) logger.error(entry);
      else if (quiet.has(route)) logger.debug(entry);
      else logger.info(entry);
    });
    next();
  };
}
