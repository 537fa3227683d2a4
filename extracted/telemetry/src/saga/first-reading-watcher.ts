import {
  checkedMessage,
  CONNECT_SAGA_VERSION,
  createEnvelope,
  envelopeHeaders,
  firstReadingReceivedReply,
  type EventProducer,
} from '@warmhouse/messaging';
import { delay, withTransaction, type Logger } from '@warmhouse/shared';
import type { Pool } from 'pg';
import { TELEMETRY_SOURCE } from './command-consumer';
import { provisioningRepository as repo } from './provisioning-repository';

export interface FirstReadingWatcher {
  start(): void;
  stop(): Promise<void>;
  /** one scan (tests); returns how many first readings it reported */
  scan(): Promise<number>;
}

/**
 * Reports the first reading of each watched device (step 3 of the connect saga). A reading counts once the
 * projector has stored it in the read models, i.e. once it is readable through the query API — not merely accepted
 * by the command log — so "connected" means the whole pipeline works for the device. The scan is a poll of the
 * database, which also makes it restart-safe: a report lost in a crash (published, not marked) is simply sent again,
 * and the orchestrator ignores the duplicate. Each scan claims the devices it reports in one transaction (row locks
 * taken with SKIP LOCKED, marked before commit), so replicas scanning at once never report the same device twice.
 */
export function createFirstReadingWatcher(opts: {
  pool: Pool;
  producer: Pick<EventProducer, 'publish'>;
  repliesTopic: string;
  pollMs: number;
  logger: Logger;
}): FirstReadingWatcher {
  const log = opts.logger.child({ module: 'first-reading-watcher' });
  let stopping = false;
  let loop: Promise<void> | undefined;

  const scan = () =>
    withTransaction(opts.pool, async (tx) => {
      const found = await repo.firstReadingsToReport(tx, 100);
      for (const f of found) {
        const reply = checkedMessage(firstReadingReceivedReply, {
          ...createEnvelope({
            type: 'connect-device.first-reading-received',
            schemaVersion: CONNECT_SAGA_VERSION,
            source: TELEMETRY_SOURCE,
          }),
          data: {
            sagaId: f.sagaId,
            deviceId: f.deviceId,
            step: 'confirm-first-reading',
            measuredAt: f.measuredAt.toISOString(),
          },
        });
        await opts.producer.publish(opts.repliesTopic, [
          { key: f.deviceId, value: reply, headers: envelopeHeaders(reply) },
        ]);
        await repo.markFirstReadingReported(tx, f.deviceId, f.measuredAt);
        log.info({ event: 'first_reading_reported', deviceId: f.deviceId, sagaId: f.sagaId }, 'first reading reported');
      }
      return found.length;
    });

  return {
    scan,
    start() {
      loop = (async () => {
        while (!stopping) {
          await scan().catch((err: unknown) =>
            log.warn({ event: 'first_reading_scan_failed', err }, 'first-reading scan failed; trying again'),
          );
          await delay(opts.pollMs);
        }
      })();
    },
    async stop() {
      stopping = true;
      await loop;
    },
  };
}
