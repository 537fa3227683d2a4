import type { Consumer, ConsumerRunConfig, ConsumerSubscribeTopics } from 'kafkajs';
import type { Logger } from '@warmhouse/shared';

/** Starting and stopping one kafkajs consumer (and the clients it needs beside it). */
export interface ConsumerLifecycle {
  /** connects, joins the group and starts consuming; resolves once consumption has started */
  start(): Promise<void>;
  /** the first call stops consuming and disconnects; later calls share that stop */
  stop(): Promise<void>;
  /** started and not stopping */
  running(): boolean;
}

/**
 * The start and stop every consumer here shares: connect, subscribe, run, log `<name>_started`; once: say it is
 * stopping, disconnect, log `<name>_stopped`. `beside` (a dead-letter producer) is connected first and disconnected
 * last.
 */
export function consumerLifecycle(options: {
  consumer: Consumer;
  subscription: ConsumerSubscribeTopics;
  /** how it consumes; `eachBatch` resolves the offsets it handled itself (never resolved automatically) */
  run: Omit<ConsumerRunConfig, 'eachBatchAutoResolve'>;
  logger: Logger;
  /** prefix of the log events: `projector`, `consumer` */
  name: string;
  /** fields of the started log line */
  startedFields?: Record<string, unknown>;
  /** fields of the stopped log line, read when stopped */
  stoppedFields?: () => Record<string, unknown>;
  /** called when stopping begins, before the consumer disconnects (stops handlers in flight) */
  onStopping?: () => void;
  beside?: { connect(): Promise<void>; disconnect(): Promise<void> };
}): ConsumerLifecycle {
  const { consumer, logger, name } = options;
  let started = false;
  let stopping = false;
  let stopped: Promise<void> | undefined;
  return {
    async start() {
      await options.beside?.connect();
      await consumer.connect();
      await consumer.subscribe(options.subscription);
      await consumer.run({ ...options.run, eachBatchAutoResolve: false });
      started = true;
      logger.info({ event: `${name}_started`, ...options.startedFields }, `${name} started`);
    },
    stop() {
      stopped ??= (async () => {
        stopping = true;
        options.onStopping?.();
        await consumer.disconnect();
        await options.beside?.disconnect();
        logger.info({ event: `${name}_stopped`, ...options.stoppedFields?.() }, `${name} stopped`);
      })();
      return stopped;
    },
    running: () => started && !stopping,
  };
}
