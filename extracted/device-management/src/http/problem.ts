import type { Response } from 'express';
import { DEVICE_ERRORS, type DeviceErrorCode, type FieldProblem } from '../errors';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: DeviceErrorCode;
  instance?: string;
  requestId?: string;
  errors?: FieldProblem[];
}

export function problemOf(
  code: DeviceErrorCode,
  detail: string,
  extra: { instance?: string; requestId?: string; errors?: FieldProblem[] } = {},
): Problem {
  const { status, title } = DEVICE_ERRORS[code];
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

/** One readable sentence out of the field problems: `settings.targetTemperature (body): must be <= 35`. */
export function describeFields(errors: FieldProblem[]): string {
  return errors.map((e) => `${e.field || e.in} (${e.in}): ${e.message}`).join('; ');
}
