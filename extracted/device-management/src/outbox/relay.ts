import { MESSAGE_HEADERS, type EventProducer } from '@warmhouse/messaging';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';
import { delay, withTransaction, type Queryable } from '@warmhouse/shared';
import { OUTBOX_CHANNEL, outboxRepository, type OutboxRow } from '../data/outbox-repository';
import type { DeviceMetrics } from '../metrics';

export interface OutboxRelay {
  start(): Promise<void>;
  /** finishes the batch in flight, then stops; idempotent */
  stop(): Promise<void>;
  /** publishes everything unpublished now (tests, shutdown); returns how many rows */
  drain(): Promise<number>;
  running(): boolean;
}

/**
 * The advisory lock that makes one relay of a service the active one (session level, in the service's own database:
 * advisory locks are per database). Two int4 keys, so the lock is recognisable in `pg_locks` (classid, objid).
 */
export const RELAY_LOCK = { classId: 0x44_4d_4f_42, objId: 1 } as const; // "DMOB", outbox relay

/**
 * Publishes outbox rows to Kafka in id order, keyed by device id (so one device's events stay in order), and stamps
 * them published in the same database transaction that locked them. At least once: a crash between the Kafka ack and
 * the commit republishes the batch, so consumers de-duplicate on `eventId`.
 *
 * One active relay per service, however many replicas run (docs/service-replicas.md): each relay holds a dedicated
 * connection and tries `pg_try_advisory_lock` on it; the one that gets it publishes, the others try again every
 * `lockRetryMs`. The lock dies with its session, so when the active replica stops, crashes or is SIGKILLed (the
 * kernel closes its socket, PostgreSQL ends the session) a standby takes over at its next try. Rows are locked
 * `FOR UPDATE` without SKIP LOCKED, and every batch first checks that its relay still holds the lock: even during
 * a hand-over, a later row is never published before an earlier one is.
 *
 * Woken by NOTIFY from the writing transaction (LISTEN on the lock connection, active relay only), with a poll as
 * fallback (a lost notification only delays). Why a relay in the service rather than Debezium's outbox event router:
 * see README ("Outbox relay").
 */
export function createOutboxRelay({
  pool,
  producer,
  topic,
  logger,
  metrics,
  pollMs,
  lockRetryMs = 500,
  batchSize = 200,
}: {
  pool: Pool;
  producer: Pick<EventProducer, 'publish'>;
  topic: string;
  logger: Logger;
  metrics: DeviceMetrics;
  pollMs: number;
  /** how often a standby relay tries to become the active one, ms */
  lockRetryMs?: number;
  batchSize?: number;
}): OutboxRelay {
  const log = logger.child({ module: 'outbox-relay' });
  /** the dedicated connection that holds (or keeps trying for) the lock */
  let lockClient: PoolClient | undefined;
  let lockPid: number | undefined;
  let active = false;
  let loop: Promise<void> | undefined;
  let stopping = false;
  let wake: (() => void) | undefined;
  let draining: Promise<number> = Promise.resolve(0);

  metrics.collect('device_management_outbox_backlog', async () => (await outboxRepository.backlog(pool)).count);
  metrics.collect(
    'device_management_outbox_oldest_unpublished_seconds',
    async () => (await outboxRepository.backlog(pool)).oldestAgeSeconds,
  );

  const lose = (client: PoolClient, err?: Error) => {
    if (lockClient !== client) return;
    if (active) log.warn({ event: 'outbox_relay_lock_lost', err }, 'lost the relay lock; standing by');
    active = false;
    lockClient = undefined;
    lockPid = undefined;
    client.release(err ?? true); // destroyed, never back in the pool: its session (and lock) must end
    wake?.();
  };

  /** One attempt to become the active relay; true when this relay is the active one. */
  const tryAcquire = async (): Promise<boolean> => {
    if (active) return true;
    if (!lockClient) {
      const client = await pool.connect();
      client.on('error', (err) => lose(client, err));
      client.on('notification', () => wake?.());
      lockClient = client;
      try {
        const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        lockPid = rows[0]?.pid;
      } catch (err) {
        lose(client, err as Error);
        throw err;
      }
    }
    const client = lockClient;
    try {
      const { rows } = await client.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS got', [
        RELAY_LOCK.classId,
        RELAY_LOCK.objId,
      ]);
      if (!rows[0]?.got) return false;
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
    } catch (err) {
      lose(client, err as Error);
      throw err;
    }
    active = true;
    log.info({ event: 'outbox_relay_active', lockSession: lockPid }, 'this relay is now the active one');
    return true;
  };

  const publishBatch = () =>
    withTransaction(pool, async (tx) => {
      // fencing: publish only while this relay's lock session still holds the lock
      if (!active || lockPid === undefined || !(await holdsRelayLock(tx, lockPid))) {
        if (active && lockClient) lose(lockClient, new Error('the relay lock session no longer holds the lock'));
        return 0;
      }
      const rows = await outboxRepository.lockBatch(tx, batchSize);
      if (rows.length === 0) return 0;
      // acks=all on an idempotent producer (@warmhouse/messaging): marked published only once every in-sync replica has it.
      // Runs of consecutive rows of one topic go in one send, runs in id order (saga commands have their own topic).
      for (const run of topicRuns(rows, topic)) {
        await producer.publish(
          run.topic,
          run.rows.map((r) => ({
            key: r.aggregateId,
            value: r.payload,
            headers: { ...r.headers, [MESSAGE_HEADERS.eventId]: r.eventId },
          })),
        );
      }
      await outboxRepository.markPublished(
        tx,
        rows.map((r) => r.id),
      );
      for (const r of rows) metrics.outboxPublished.inc({ type: r.eventType });
      log.debug({ event: 'outbox_published', count: rows.length, lastId: rows[rows.length - 1]?.id });
      return rows.length;
    });

  /** One drain at a time: batches are published strictly in order. A standby relay publishes nothing. */
  const drain = (): Promise<number> => {
    draining = draining
      .catch(() => 0)
      .then(async () => {
        let total = 0;
        for (;;) {
          const n = await publishBatch();
          total += n;
          if (n < batchSize || stopping) return total;
        }
      });
    return draining;
  };

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => (wake = undefined));

  const run = async () => {
    let failures = 0;
    while (!stopping) {
      try {
        if (!(await tryAcquire())) {
          await pause(lockRetryMs);
          continue;
        }
        await drain();
        failures = 0;
      } catch (err) {
        failures++;
        const waitMs = Math.min(30_000, 200 * 2 ** Math.min(failures, 8));
        log.warn({ event: 'outbox_publish_failed', err, waitMs }, 'publishing the outbox failed, retrying');
        await delay(waitMs);
        continue;
      }
      await pause(pollMs);
    }
  };

  return {
    async start() {
      stopping = false;
      await tryAcquire().catch((err: unknown) =>
        log.warn({ event: 'outbox_relay_lock_failed', err }, 'could not try the relay lock yet; retrying'),
      );
      if (!active) log.info({ event: 'outbox_relay_standby' }, 'another relay is active; this one stands by');
      loop = run();
      log.info({ event: 'outbox_relay_started', topic }, 'outbox relay started');
    },
    async stop() {
      if (stopping) return loop;
      stopping = true;
      wake?.();
      await loop;
      await draining.catch(() => undefined);
      const client = lockClient;
      if (client) {
        // ending the session releases the lock (and the LISTEN): a standby takes over at its next try
        lose(client);
      }
      active = false;
      log.info({ event: 'outbox_relay_stopped' }, 'outbox relay stopped');
    },
    drain,
    running: () => loop !== undefined && !stopping,
  };
}

/** Whether the session `pid` holds the relay lock in this database (the fencing check of every batch). */
async function holdsRelayLock(tx: Queryable, pid: number): Promise<boolean> {
  const { rows } = await tx.query(
    `SELECT 1 FROM pg_locks
     WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND classid = $1 AND objid = $2 AND objsubid = 2 AND pid = $3 AND granted`,
    [RELAY_LOCK.classId, RELAY_LOCK.objId, pid],
  );
  return rows.length > 0;
}

/** Consecutive rows grouped by topic (a row without one goes to `defaultTopic`), order kept. */
export function topicRuns(
  rows: readonly OutboxRow[],
  defaultTopic: string,
): Array<{ topic: string; rows: OutboxRow[] }> {
  const runs: Array<{ topic: string; rows: OutboxRow[] }> = [];
  for (const r of rows) {
    const t = r.topic ?? defaultTopic;
    const last = runs[runs.length - 1];
    if (last && last.topic === t) last.rows.push(r);
    else runs.push({ topic: t, rows: [r] });
  }
  return runs;
}
