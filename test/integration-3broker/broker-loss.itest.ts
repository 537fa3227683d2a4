import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { Pool } from 'pg';
import { createLogger, delay, waitFor } from '@warmhouse/shared';
import { createEnvelope, createEventProducer, ensureTopics, envelopeHeaders } from '@warmhouse/messaging';
import { loadDeviceManagementConfig } from '../../extracted/device-management/src/config';
import { prepareDeviceManagementDatabase } from '../../extracted/device-management/src/database';
import { startDeviceManagement, type RunningDeviceManagement } from '../../extracted/device-management/src/service';
import { kafkaNodeControl } from '../stack-control';
import { ENDPOINTS_3BROKER_FILE, readTestEndpoints } from '../stack-endpoints';
import { recordTopics, type RecordedMessage } from '../support/topic-recorder';

const suffix = randomUUID().slice(0, 8);
const logger = createLogger('broker-loss', process.env.TEST_LOG_LEVEL ?? 'silent');

/** A background loop that runs `step` until stopped, counting failures instead of throwing them. */
function stream(name: string, everyMs: number, step: (i: number) => Promise<void>) {
  let stopped = false;
  const failures: string[] = [];
  let i = 0;
  const done = (async () => {
    while (!stopped) {
      try {
        await step(i++);
      } catch (err) {
        failures.push(`${name}: ${(err as Error).message}`);
      }
      await delay(everyMs);
    }
  })();
  return {
    failures,
    count: () => i,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

/**
 * Kills one of three Kafka nodes (SIGKILL) in the middle of a stream of monolith writes (CDC), device-management
 * domain events (outbox relay) and messages of our own producer, and proves that nothing acknowledged is lost,
 * processing goes on with two nodes, and the killed node rejoins every ISR when restarted.
 */
describe('3-broker mode: losing a broker', () => {
  const endpoints = readTestEndpoints(ENDPOINTS_3BROKER_FILE);
  const nodes = kafkaNodeControl(ENDPOINTS_3BROKER_FILE);
  const kafka = new Kafka({
    clientId: `broker-loss-${suffix}`,
    brokers: endpoints.kafka.brokers,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const eventsTopic = `broker-loss-events-${suffix}`;
  const ownTopic = `broker-loss-own-${suffix}`;
  let monolith: Pool;
  let dmDb: Pool;
  let service: RunningDeviceManagement;
  let recorder: Awaited<ReturnType<typeof recordTopics>>;
  let killed: number | undefined;

  const isrOf = async (topics: string[]) => {
    const { topics: meta } = await admin.fetchTopicMetadata({ topics });
    return meta.flatMap((t) =>
      t.partitions.map((p) => ({ topic: t.name, partition: p.partitionId, isr: p.isr.length })),
    );
  };

  beforeAll(async () => {
    await admin.connect();
    await ensureTopics(admin, [{ topic: ownTopic, numPartitions: 3 }]);
    monolith = new Pool({ connectionString: endpoints.postgres.monolithUrl, max: 4 });
    const dmUrl = await prepareDeviceManagementDatabase(
      endpoints.postgres.superuserUrl,
      { user: 'device_management', password: 'device-management-test' },
      { database: `dm_broker_loss_${suffix}` },
    );
    dmDb = new Pool({ connectionString: dmUrl, max: 4 });
    service = await startDeviceManagement(
      loadDeviceManagementConfig({
        PORT: '0',
        DATABASE_URL: dmUrl,
        KAFKA_BROKERS: endpoints.kafka.brokers.join(','),
        KAFKA_CLIENT_ID: `dm-broker-loss-${suffix}`,
        CDC_HEATING_TOPIC: endpoints.topics.heatingSystems,
        CDC_GROUP_ID: `dm-broker-loss-sync-${suffix}`,
        DEVICE_EVENTS_TOPIC: eventsTopic,
        WRITE_BACK_ENABLED: 'false',
        OUTBOX_POLL_MS: '200',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      }),
      logger,
      { defaultMetrics: false },
    );
    recorder = await recordTopics(endpoints.kafka.brokers, [endpoints.topics.heatingSystems, eventsTopic, ownTopic]);
  });

  afterAll(async () => {
    await recorder?.stop();
    await service?.stop();
    await dmDb?.end();
    await monolith?.end();
    if (killed !== undefined) await nodes.start(killed).catch(() => undefined);
    await admin.disconnect();
  });

  it('loses nothing acknowledged while a broker is down, keeps processing, and the broker rejoins', async () => {
    // five monolith rows of this test; every committed target temperature is recorded
    const rows: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { rows: r } = await monolith.query<{ id: string }>(
        'INSERT INTO heating_systems (is_on, target_temperature, current_temperature) VALUES (false, 10, 18) RETURNING id',
      );
      rows.push(Number(r[0]!.id));
    }
    const committed: Array<{ id: number; target: number }> = [];
    const writes = stream('monolith', 40, async (i) => {
      const id = rows[i % rows.length]!;
      const target = 10 + (i + 1) / 100; // unique per write, so each one is identifiable downstream
      await monolith.query('UPDATE heating_systems SET target_temperature = $2 WHERE id = $1', [id, target]);
      committed.push({ id, target });
    });
    const registered: string[] = [];
    const registrations = stream('device-management API', 200, async (i) => {
      const res = await fetch(`${service.url}/api/v1/devices`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'heating', name: `broker-loss ${i}`, houseId: `house-${suffix}` }),
      });
      if (res.status !== 201) throw new Error(`POST /api/v1/devices answered ${res.status}`);
      registered.push(((await res.json()) as { id: string }).id);
    });
    const producer = createEventProducer(kafka);
    await producer.connect();
    const acknowledged: string[] = [];
    const produced = stream('producer', 40, async (i) => {
      const envelope = createEnvelope({ type: 'test.ping', schemaVersion: 1, source: 'broker-loss-test' });
      await producer.publish(ownTopic, [
        { key: `k${i % 7}`, value: { ...envelope, data: { i } }, headers: envelopeHeaders(envelope) },
      ]);
      acknowledged.push(envelope.eventId);
    });

    try {
      await waitFor(
        'the streams to get going',
        () => (committed.length >= 30 && acknowledged.length >= 30 ? true : undefined),
        {
          timeoutMs: 60_000,
        },
      );

      // the node leading the CDC topic goes: Connect's producer, the sync consumer and the recorder all lose it
      const { topics: meta } = await admin.fetchTopicMetadata({ topics: [endpoints.topics.heatingSystems] });
      killed = meta[0]!.partitions[0]!.leader;
      const pid = nodes.kill(killed);
      const killedAt = Date.now();
      const since = () => `${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`;
      const atKill = { committed: committed.length, acknowledged: acknowledged.length, registered: registered.length };
      process.stdout.write(
        `[broker-loss] SIGKILLed Kafka node ${killed} (pid ${pid}) after ${JSON.stringify(atKill)}\n`,
      );

      // the dead node is dropped from the ISRs: writes now need the two that are left (min.insync.replicas=2)
      await waitFor(
        `node ${killed} to leave the ISR of ${endpoints.topics.heatingSystems}`,
        async () => ((await isrOf([endpoints.topics.heatingSystems]))[0]?.isr === 2 ? true : undefined),
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      process.stdout.write(`[broker-loss] ISR of the CDC topic down to 2, ${since()}\n`);
      // processing goes on with two nodes: new writes of every stream are acknowledged and arrive
      await waitFor(
        'every stream to make progress with a node down',
        () =>
          committed.length >= atKill.committed + 60 &&
          acknowledged.length >= atKill.acknowledged + 60 &&
          registered.length >= atKill.registered + 10
            ? true
            : undefined,
        { timeoutMs: 120_000, intervalMs: 250 },
      );
      process.stdout.write(`[broker-loss] every stream made progress with a node down, ${since()}\n`);
    } finally {
      await Promise.all([writes.stop(), registrations.stop(), produced.stop()]);
      await producer.disconnect();
    }
    process.stdout.write(
      `[broker-loss] committed ${committed.length} monolith writes, registered ${registered.length} devices, ` +
        `acknowledged ${acknowledged.length} messages; failed attempts: ${writes.failures.length + registrations.failures.length + produced.failures.length}\n`,
    );

    // every committed monolith change is in Kafka…
    const cdcValues = (all: RecordedMessage[]) =>
      new Set(
        all
          .filter((m) => m.topic === endpoints.topics.heatingSystems)
          .map((m) => (m.value as { after?: { id: number; target_temperature: number } } | null)?.after)
          .filter((a) => a !== undefined && a !== null)
          .map((a) => `${a!.id}:${a!.target_temperature}`),
      );
    await recorder.until(
      'every committed monolith change on the CDC topic',
      (all) => {
        const seen = cdcValues(all);
        return committed.every((c) => seen.has(`${c.id}:${c.target}`)) ? true : undefined;
      },
      300_000,
    );
    // …and applied by device management, each one (its settings-changed event carries the value)…
    const applied = (all: RecordedMessage[]) =>
      new Set(
        all
          .filter((m) => m.topic === eventsTopic)
          .map(
            (m) =>
              m.value as { type: string; legacyId: string | null; data: { settings?: { targetTemperature: number } } },
          )
          .filter((e) => e.type === 'device.settings-changed' && e.legacyId !== null)
          .map((e) => `${e.legacyId}:${e.data.settings?.targetTemperature}`),
      );
    await recorder.until(
      // generous: one run that killed node 1 needed more than 120 s here (cause not pinned down: kafkajs recovery)
      'a settings-changed event of device management for every committed monolith change',
      (all) => {
        const seen = applied(all);
        return committed.every((c) => seen.has(`${c.id}:${c.target}`)) ? true : undefined;
      },
      300_000,
    );
    const last = new Map(committed.map((c) => [c.id, c.target]));
    const { rows: devices } = await dmDb.query<{ legacy_id: string; target_temperature: number }>(
      'SELECT legacy_id::text, target_temperature FROM devices WHERE legacy_id = ANY($1::bigint[])',
      [rows],
    );
    expect(new Map(devices.map((d) => [Number(d.legacy_id), d.target_temperature]))).toEqual(last);

    // every domain event the relay had acknowledged (published_at) is consumable, and the outbox drained
    await waitFor(
      'the outbox to drain',
      async () =>
        (await dmDb.query('SELECT 1 FROM outbox WHERE published_at IS NULL LIMIT 1')).rowCount === 0 ? true : undefined,
      { timeoutMs: 180_000 },
    );
    const { rows: outbox } = await dmDb.query<{ event_id: string }>('SELECT event_id FROM outbox');
    expect(outbox.length).toBeGreaterThanOrEqual(registered.length);
    await recorder.until(
      'every published outbox event on the events topic',
      (all) => {
        const seen = new Set(all.filter((m) => m.topic === eventsTopic).map((m) => m.headers['event-id']));
        return outbox.every((o) => seen.has(o.event_id)) ? true : undefined;
      },
      60_000,
    );
    // every message our own producer had acknowledged is consumable
    await recorder.until(
      'every acknowledged message of the producer',
      (all) => {
        const seen = new Set(all.filter((m) => m.topic === ownTopic).map((m) => m.headers['event-id']));
        return acknowledged.every((id) => seen.has(id)) ? true : undefined;
      },
      60_000,
    );

    // the node comes back and catches up: every partition of these topics is fully in sync again
    const restartedAt = Date.now();
    const restarted = await nodes.start(killed!);
    process.stdout.write(`[broker-loss] restarted Kafka node ${killed} (pid ${restarted})\n`);
    const watched = [endpoints.topics.heatingSystems, eventsTopic, ownTopic, '_connect-offsets', '__consumer_offsets'];
    await waitFor(
      'ISR back to 3 on every partition',
      async () => ((await isrOf(watched)).every((p) => p.isr === 3) ? true : undefined),
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
    process.stdout.write(
      `[broker-loss] node ${killed} back in every ISR ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after its restart\n`,
    );
    killed = undefined;
  }, 1_200_000);
});
