import type { Logger } from 'pino';
import { ConfigError } from './config';
import { createLogger } from './logger';

type Stopper = () => Promise<void> | void;

/**
 * Runs a process's main function: a config error is printed plainly and exits 2; SIGINT/SIGTERM run the
 * registered stoppers in reverse order (graceful shutdown), then exit.
 */
export function runMain(name: string, main: (onStop: (stop: Stopper) => void) => Promise<Logger | void>): void {
  const stoppers: Stopper[] = [];
  let stopping = false;
  let logger: Logger | void;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger?.info({ event: 'shutdown_started', signal }, `${name} stopping`);
    for (const s of stoppers.reverse()) {
      try {
        await s();
      } catch (err) {
        logger?.error({ err }, 'error during shutdown');
      }
    }
    logger?.info({ event: 'shutdown_finished' }, `${name} stopped`);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  main((s) => stoppers.push(s))
    .then((l) => {
      logger = l;
    })
    .catch((err: unknown) => {
      if (err instanceof ConfigError) {
        process.stderr.write(`${name}: ${err.message}\n`);
        process.exit(2);
      }
      process.stderr.write(
        `${name}: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exit(1);
    });
}

/**
 * Runs a service whose start-up is "read the config, make the logger at its LOG_LEVEL, start": `start` resolves to
 * what the service runs, stopped on SIGINT/SIGTERM (see runMain).
 */
export function runService<C extends { LOG_LEVEL: string }>(
  name: string,
  service: { loadConfig: () => C; start: (config: C, logger: Logger) => Promise<{ stop(): Promise<void> }> },
): void {
  runMain(name, async (onStop) => {
    const config = service.loadConfig();
    const logger = createLogger(name, config.LOG_LEVEL);
    const running = await service.start(config, logger);
    onStop(() => running.stop());
    return logger;
  });
}
