import type { Response } from 'express';
import { TELEMETRY_ERRORS, type FieldProblem, type TelemetryErrorCode } from '../errors';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** RFC 9457 problem details, with our error code and the failing fields. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: TelemetryErrorCode;
  instance?: string;
  requestId?: string;
  errors?: FieldProblem[];
}

export function problemOf(
  code: TelemetryErrorCode,
  detail: string,
  extra: { instance?: string; requestId?: string; errors?: FieldProblem[] } = {},
): Problem {
  const { status, title } = TELEMETRY_ERRORS[code];
  return {
    type: `urn:warmhouse:problem:${code.toLowerCase().replace(/_/g, '-')}`,
    title,
    status,
    detail,
    code,
    ...(extra.instance ? { instance: extra.instance } : {}),
    ...(extra.requestId ? { requestId: extra.requestId } : {}),
    ...(extra.errors && extra.errors.length > 0 ? { errors: extra.errors } : {}),
  };
}

export function sendProblem(res: Response, problem: Problem): void {
  res.status(problem.status).setHeader('Content-Type', PROBLEM_CONTENT_TYPE);
  res.send(JSON.stringify(problem));
}

/** One readable sentence out of the field problems: `readings[3].measuredAt (body): is in the future …`. */
export function describeFields(errors: readonly FieldProblem[]): string {
  const shown = errors.slice(0, 5).map((e) => `${e.field || e.in} (${e.in}): ${e.message}`);
  return shown.join('; ') + (errors.length > 5 ? `; and ${errors.length - 5} more` : '');
}
