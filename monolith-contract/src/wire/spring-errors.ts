import type { Response } from 'express';

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
};

/** Spring's timestamp shape: `2026-01-01T12:00:00.000+00:00`. */
export function springTimestamp(now = new Date()): string {
  return now.toISOString().replace('Z', '+00:00');
}

/** Spring Boot's default error body, exactly as the production monolith sends it. */
export function sendSpringError(res: Response, status: number, path: string): void {
  const body = { timestamp: springTimestamp(), status, error: REASONS[status] ?? 'Error', path };
  // a Buffer, so express adds no `; charset=utf-8`: Spring sends plain `application/json`
  res.status(status).setHeader('Content-Type', 'application/json');
  res.send(Buffer.from(JSON.stringify(body)));
}
