import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { CodedError, fieldsOf, sendProblem, type FieldProblem, type Problem } from '@warmhouse/shared';

/** Why a request failed before or outside the service's own code, as the problem handler sees it. */
export type FailureKind = 'coded' | 'too-large' | 'malformed' | 'unavailable' | 'internal';

/** A PostgreSQL or socket error that says the database (or a peer) is not reachable: worth a retry. */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' && (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE)$/.test(code) || /^(08|57P)/.test(code))
  );
}

/** Sorts an error reaching the error handler: our coded errors, body-parser refusals, outages, bugs. */
export function failureKind(err: unknown, isCoded: (err: unknown) => boolean): FailureKind {
  if (isCoded(err)) return 'coded';
  const parser = err as { type?: string; status?: number };
  if (parser.type === 'entity.too.large' || parser.status === 413) return 'too-large';
  if (parser.type === 'entity.parse.failed') return 'malformed';
  if (parser.status !== undefined && parser.status >= 400 && parser.status < 500) return 'malformed';
  if (err instanceof CodedError ? err.retriable : isConnectionError(err)) return 'unavailable';
  return 'internal';
}

/** The service's catalog, as the problem handler needs it (see `errorCatalog` in @warmhouse/shared). */
export interface ProblemCatalog<Code extends string> {
  is(err: unknown): err is CodedError & { code: Code };
  problem(
    code: Code,
    detail: string,
    extra?: { instance?: string; requestId?: string; errors?: FieldProblem[] },
  ): Problem;
}

export interface ProblemHandlerOptions<Code extends string> {
  logger: Logger;
  catalog: ProblemCatalog<Code>;
  /** the service's code for each kind of failure that is not one of its coded errors */
  codes: Record<Exclude<FailureKind, 'coded'>, Code>;
  /** the body limit, named in a 413's detail */
  maxBodyBytes: number | string;
  /** told of every refusal of a body (too large, not JSON), e.g. to count it */
  onBodyRefused?: (kind: 'too-large' | 'malformed') => void;
}

/**
 * The express error handler of a service's API: every failure becomes problem details (RFC 9457) with the
 * service's code, the failing fields, the request's instance and id; 5xx are logged as errors, refusals as info.
 */
export function problemHandler<Code extends string>(options: ProblemHandlerOptions<Code>) {
  const { logger, catalog, codes } = options;
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const instance = req.originalUrl.split('?')[0] ?? req.originalUrl;
    const requestId = String(req.headers['x-request-id'] ?? '') || undefined;
    if (catalog.is(err)) {
      const errors = fieldsOf(err);
      const level = err.status >= 500 ? 'error' : 'info';
      logger[level](
        { event: 'request_rejected', code: err.code, status: err.status, path: instance, errors },
        err.message,
      );
      sendProblem(res, catalog.problem(err.code, err.message, { instance, requestId, errors }));
      return;
    }
    const kind = failureKind(err, () => false) as Exclude<FailureKind, 'coded'>; // ours were answered above
    if (kind === 'too-large' || kind === 'malformed') options.onBodyRefused?.(kind);
    const message = (err as { message?: string }).message ?? '';
    const answers: Record<Exclude<FailureKind, 'coded'>, () => Problem> = {
      'too-large': () =>
        catalog.problem(codes['too-large'], `the body is larger than ${options.maxBodyBytes}`, {
          instance,
          requestId,
          errors: [{ in: 'body', field: '', message: `must be at most ${options.maxBodyBytes}` }],
        }),
      malformed: () =>
        catalog.problem(codes.malformed, `the body is not valid JSON: ${message}`, {
          instance,
          requestId,
          errors: [{ in: 'body', field: '', message: 'is not valid JSON' }],
        }),
      unavailable: () =>
        catalog.problem(codes.unavailable, 'a dependency (the database) is not reachable, try again', {
          instance,
          requestId,
        }),
      internal: () => catalog.problem(codes.internal, 'unexpected error', { instance, requestId }),
    };
    if (kind === 'unavailable' || kind === 'internal')
      logger.error({ event: 'request_failed', path: instance, err }, message);
    sendProblem(res, answers[kind]());
  };
}
