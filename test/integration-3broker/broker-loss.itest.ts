import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { delay, waitFor } from '@warmhouse/shared';
import { createEnvelope, createEventProducer, ensureTopics, envelopeHeaders } from '@warmhouse/messaging';
import {
  startService as startDeviceManagement,
  testEnvironment as deviceManagementEnvironment,
} from '../../extracted/device-management/test/integration/support';
import { http, type SagaJson } from '../../extracted/device-management/test/integration/saga-support';
import {
  startService as startTelemetry,
  testEnvironment as telemetryEnvironment,
} from '../../extracted/telemetry/test/integration/support';
import { kafkaNodeControl } from '../stack-control';
import { ENDPOINTS_3BROKER_FILE, readTestEndpoints } from '../stack-endpoints';
import { recordTopics, type RecordedMessage } from '../support/topic-recorder';

const suffix = randomUUID().slice(0, 8);

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
 * domain events (outbox relay), connect-device sagas (commands and replies between device management and telemetry,
 * telemetry's command log) and messages of our own producer, and proves that nothing acknowledged is lost,
 * processing goes on with two nodes, every saga ends as it should, and the killed node rejoins every ISR.
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
  const ownTopic = `broker-loss-own-${suffix}`;
  const sagaTopics = { commands: `broker-loss-${suffix}.saga-commands`, replies: `broker-loss-${suffix}.saga-replies` };
  let dm: Awaited<ReturnType<typeof deviceManagementEnvironment>>;
  let tm: Awaited<ReturnType<typeof telemetryEnvironment>>;
  let service: Awaited<ReturnType<typeof startDeviceManagement>>;
  let telemetry: Awaited<ReturnType<typeof startTelemetry>>;
  let eventsTopic: string;
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
    dm = await deviceManagementEnvironment(endpoints);
    tm = await telemetryEnvironment(endpoints);
    const sagaTopics = {
      commands: `broker-loss-${suffix}.saga-commands`,
      replies: `broker-loss-${suffix}.saga-replies`,
    };
    telemetry = await startTelemetry(
      tm.env({
        TELEMETRY_ROLES: 'api,projector,saga',
        TELEMETRY_SAGA_COMMANDS_TOPIC: sagaTopics.commands,
        TELEMETRY_SAGA_REPLIES_TOPIC: sagaTopics.replies,
        TELEMETRY_MAX_RETENTION_DAYS: '365',
        TELEMETRY_FIRST_READING_POLL_MS: '200',
      }),
      'broker-loss-telemetry',
    );
    // no timeouts inside the test's time: a lost command or reply must show as a saga that never ends, not as a
    // compensation that looks like a proper failure
    service = await startDeviceManagement(
      dm.env({
        WRITE_BACK_ENABLED: 'false',
        SAGA_COMMANDS_TOPIC: sagaTopics.commands,
        SAGA_REPLIES_TOPIC: sagaTopics.replies,
        SAGA_REPLY_TIMEOUT_MS: '900000',
        SAGA_TIMER_MS: '200',
      }),
      'broker-loss-device-management',
    );
    eventsTopic = service.config.DEVICE_EVENTS_TOPIC;
    recorder = await recordTopics(endpoints.kafka.brokers, [
      endpoints.topics.heatingSystems,
      eventsTopic,
      sagaTopics.commands,
      ownTopic,
    ]);
  });

  afterAll(async () => {
    await recorder?.stop();
    await service?.stop();
    await telemetry?.stop();
    await dm?.close();
    await tm?.close();
    if (killed !== undefined) await nodes.start(killed).catch(() => undefined);
    await admin.disconnect();
  });

  it('loses nothing acknowledged while a broker is down, keeps processing, and the broker rejoins', async () => {
    // five monolith rows of this test; every committed target temperature is recorded
    const rows: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { rows: r } = await dm.monolith.query<{ id: string }>(
        'INSERT INTO heating_systems (is_on, target_temperature, current_temperature) VALUES (false, 10, 18) RETURNING id',
      );
      rows.push(Number(r[0]!.id));
    }
    const committed: Array<{ id: number; target: number }> = [];
    const writes = stream('monolith', 40, async (i) => {
      const id = rows[i % rows.length]!;
      const target = 10 + (i + 1) / 100; // unique per write, so each one is identifiable downstream
      await dm.monolith.query('UPDATE heating_systems SET target_temperature = $2 WHERE id = $1', [id, target]);
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
    // connect-device sagas; every fifth asks for a retention telemetry refuses, so it must end failed (compensation
    // path), the rest must end active. Their first reading goes through telemetry's ingest right away.
    const sagas: Array<{ sagaId: string; deviceId: string; refused: boolean }> = [];
    const readingRefusals: string[] = [];
    const sendFirstReading = (deviceId: string) =>
      waitFor(
        `telemetry to accept the first reading of ${deviceId}`,
        async () => {
          const res = await http('POST', `${telemetry.url}/api/v1/telemetry`, {
            deviceId,
            metric: 'temperature',
            value: 20.5,
            unit: 'Cel',
            measuredAt: new Date().toISOString(),
          });
          if (res.status === 202) return true;
          readingRefusals.push(`${res.status} ${JSON.stringify(res.body)}`);
          return undefined;
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );
    const connects = stream('connect saga', 300, async (i) => {
      const refused = i % 5 === 4;
      const res = await http<SagaJson>('POST', `${service.url}/api/v1/devices/connect`, {
        type: 'temperature_sensor',
        name: `broker-loss sensor ${i}`,
        houseId: `house-${suffix}`,
        retentionDays: refused ? 400 : 30,
      });
      if (res.status !== 202) throw new Error(`POST /api/v1/devices/connect answered ${res.status}`);
      sagas.push({ sagaId: res.body.sagaId, deviceId: res.body.deviceId, refused });
      if (!refused) await sendFirstReading(res.body.deviceId);
    });
    const sagaStates = async (ids: string[]) => {
      const { rows } = await dm.db.query<{ id: string; state: string }>(
        'SELECT id::text, state FROM connect_sagas WHERE id::text = ANY($1::text[])',
        [ids],
      );
      return new Map(rows.map((r) => [r.id, r.state]));
    };

    try {
      await waitFor(
        'the streams to get going',
        () => (committed.length >= 30 && acknowledged.length >= 30 && sagas.length >= 3 ? true : undefined),
        {
          timeoutMs: 60_000,
        },
      );

      // the node leading the CDC topic goes: Connect's producer, the sync consumer and the recorder all lose it
      // (BROKER_LOSS_NODE picks another node, to reproduce a run that killed it)
      const { topics: meta } = await admin.fetchTopicMetadata({ topics: [endpoints.topics.heatingSystems] });
      killed = process.env.BROKER_LOSS_NODE ? Number(process.env.BROKER_LOSS_NODE) : meta[0]!.partitions[0]!.leader;
      const pid = nodes.kill(killed);
      const killedAt = Date.now();
      const since = () => `${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`;
      const atKill = {
        committed: committed.length,
        acknowledged: acknowledged.length,
        registered: registered.length,
        sagas: sagas.length,
      };
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
      // (sagas: at least three started after the kill have run all four steps while the node is still down)
      await waitFor(
        'every stream to make progress with a node down',
        async () => {
          if (
            committed.length < atKill.committed + 60 ||
            acknowledged.length < atKill.acknowledged + 60 ||
            registered.length < atKill.registered + 10
          )
            return undefined;
          const sinceKill = sagas.slice(atKill.sagas);
          const states = await sagaStates(sinceKill.map((x) => x.sagaId));
          return [...states.values()].filter((state) => state === 'completed').length >= 3 ? true : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 500 },
      );
      process.stdout.write(`[broker-loss] every stream made progress with a node down, ${since()}\n`);
    } finally {
      await Promise.all([writes.stop(), registrations.stop(), produced.stop(), connects.stop()]);
      await producer.disconnect();
    }
    process.stdout.write(
      `[broker-loss] committed ${committed.length} monolith writes, registered ${registered.length} devices, ` +
        `acknowledged ${acknowledged.length} messages, started ${sagas.length} sagas; failed attempts: ` +
        `${[writes, registrations, produced, connects].reduce((n, x) => n + x.failures.length, 0)}, ` +
        `first readings refused: ${readingRefusals.length}\n`,
    );
    // Caller-failure budget: 0, the figure of every recorded run (docs/benchmarks/broker-loss.md). Why none may
    // fail while a broker is down: monolith writes, device registrations and saga starts commit to PostgreSQL only
    // (CDC and the outbox relay carry them to Kafka afterwards, retrying on their own); our producer sends one
    // message per publish, so one partition, which kafkajs' idempotent producer retries without bound across the
    // leader change (the partial-acknowledgement gap of MESSAGE_ERR_SEND_INCOMPLETE needs a send spanning
    // partitions), and two of three nodes still satisfy min.insync.replicas=2. First readings telemetry refused
    // (503 while its command log had no leader) are retried by sendFirstReading and are not caller failures; one
    // that is never accepted fails its connect-saga attempt, and so this assertion.
    expect([writes, registrations, produced, connects].flatMap((x) => x.failures)).toEqual([]);

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
    const { rows: devices } = await dm.db.query<{ legacy_id: string; target_temperature: number }>(
      'SELECT legacy_id::text, target_temperature FROM devices WHERE legacy_id = ANY($1::bigint[])',
      [rows],
    );
    expect(new Map(devices.map((d) => [Number(d.legacy_id), d.target_temperature]))).toEqual(last);

    // every domain event and saga command the relay had acknowledged (published_at) is consumable on its topic, and
    // the outbox drained
    await waitFor(
      'the outbox to drain',
      async () =>
        (await dm.db.query('SELECT 1 FROM outbox WHERE published_at IS NULL LIMIT 1')).rowCount === 0
          ? true
          : undefined,
      { timeoutMs: 180_000 },
    );
    const { rows: outbox } = await dm.db.query<{ event_id: string; topic: string }>(
      'SELECT event_id, coalesce(topic, $1) AS topic FROM outbox',
      [eventsTopic],
    );
    expect(outbox.filter((o) => o.topic === eventsTopic).length).toBeGreaterThanOrEqual(registered.length);
    expect(outbox.filter((o) => o.topic === sagaTopics.commands).length).toBeGreaterThanOrEqual(sagas.length);
    await recorder.until(
      'every published outbox row on its topic (device events, saga commands)',
      (all) => {
        const seen = new Set(all.map((m) => `${m.topic} ${m.headers['event-id']}`));
        return outbox.every((o) => seen.has(`${o.topic} ${o.event_id}`)) ? true : undefined;
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

    // every saga ends as it should: the refused ones failed with nothing left provisioned, the rest active on both
    // sides (a lost command or reply would leave its saga waiting: no timeout fires within the test)
    const ended = await waitFor(
      `every one of ${sagas.length} sagas to end`,
      async () => {
        const states = await sagaStates(sagas.map((x) => x.sagaId));
        return [...states.values()].filter((state) => state === 'completed' || state === 'failed').length ===
          sagas.length
          ? states
          : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 1_000 },
    );
    expect(sagas.filter((x) => ended.get(x.sagaId) !== (x.refused ? 'failed' : 'completed'))).toEqual([]);
    const { rows: sagaDevices } = await dm.db.query<{ id: string; status: string }>(
      'SELECT id::text, status FROM devices WHERE id::text = ANY($1::text[])',
      [sagas.map((x) => x.deviceId)],
    );
    const deviceStatus = new Map(sagaDevices.map((d) => [d.id, d.status]));
    expect(sagas.filter((x) => deviceStatus.get(x.deviceId) !== (x.refused ? 'failed' : 'active'))).toEqual([]);
    const { rows: provisioned } = await tm.db.query<{ device_id: string }>(
      `SELECT device_id FROM provisioning.devices WHERE status = 'provisioned'`,
    );
    expect(provisioned.map((p) => p.device_id).sort()).toEqual(
      sagas
        .filter((x) => !x.refused)
        .map((x) => x.deviceId)
        .sort(),
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
