import { connectSagaReplySchema, createContractConsumer, type MessageConsumer } from '@warmhouse/messaging';
import { delay } from '@warmhouse/shared';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Orchestrator } from './orchestrator';

export interface SagaWorker {
  start(): Promise<void>;
  stop(): Promise<void>;
  running(): boolean;
  /** the reply consumer (its counters tell tests how many replies were handled or dead-lettered) */
  readonly replies: MessageConsumer;
}

/**
 * The orchestrator's inputs: the reply consumer (telemetry's replies; malformed ones go to `<topic>.dlq` and the
 * saga then times out into compensation) and the timer, which scans the database for sagas past their deadline —
 * deadlines are stored, so they survive restarts.
 */
export function createSagaWorker(opts: {
  kafka: Kafka;
  orchestrator: Orchestrator;
  repliesTopic: string;
  groupId: string;
  timerMs: number;
  logger: Logger;
}): SagaWorker {
  const log = opts.logger.child({ module: 'connect-saga-worker' });
  const { kafka, groupId, logger } = opts;
  const replies = createContractConsumer({
    kafka,
    groupId,
    logger,
    topic: opts.repliesTopic,
    schema: connectSagaReplySchema,
    module: 'connect-saga-replies',
    handle: async (reply) => {
      await opts.orchestrator.handleReply(reply);
    },
    commitPolicy: { maxMessages: 1, maxMs: 0 },
  });
  let stopping = false;
  let loop: Promise<void> | undefined;

  const tick = async () => {
    while (!stopping) {
      try {
        await opts.orchestrator.fireDueTimeouts();
      } catch (err) {
        log.warn({ event: 'saga_timer_failed', err }, 'saga timer scan failed; trying again');
      }
      await delay(opts.timerMs);
    }
  };

  return {
    replies,
    async start() {
      await replies.start();
      loop = tick();
      log.info({ event: 'saga_worker_started', topic: opts.repliesTopic }, 'connect saga worker started');
    },
    async stop() {
      stopping = true;
      await loop;
      await replies.stop();
    },
    running: () => !stopping && replies.running(),
  };
}
