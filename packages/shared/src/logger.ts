import pino, { type Logger } from 'pino';

export type { Logger };

/** One structured JSON logger per process; modules take `logger.child({ module })`. */
export function createLogger(service: string, level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
