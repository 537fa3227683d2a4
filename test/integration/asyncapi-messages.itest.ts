import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { Pool } from 'pg';
import { createLogger, waitFor } from '@warmhouse/shared';
import { loadDeviceManagementConfig } from '../../extracted/device-management/src/config';
import { prepareDeviceManagementDatabase } from '../../extracted/device-management/src/database';
import { startDeviceManagement, type RunningDeviceManagement } from '../../extracted/device-management/src/service';
import { createCommandLog, ensureCommandTopic } from '../../extracted/telemetry/src/kafka/command-log';
import { DLQ_HEADERS, ensureTopics } from '../../packages/messaging/src';
import { messageValidators, parseAsyncApi } from '../../packages/messaging/src/asyncapi/document';
import { readTestEndpoints } from '../stack-endpoints';
import { recordTopics, type RecordedMessage } from '../support/topic-recorder';

const suffix = randomUUID().slice(0, 8);
const logger = createLogger('asyncapi-messages', process.env.TEST_LOG_LEVEL ?? 'silent');

/**
 * Real messages from real Kafka against docs/asyncapi.yaml: Debezium change events and heartbeats from monolith
 * writes, device management's domain events (CDC sync and its API), telemetry's command log, and dead letters
 * written by the consumer error policy and by telemetry. Test-owned topics stand in for the production names of
 * our services' topics (same code, same format); the CDC topics are the real ones.
 */
describe('docs/asyncapi.yaml against captured messages', () => {
  const endpoints = readTestEndpoints();
  const kafka = new Kafka({
    clientId: `asyncapi-${suffix}`,
    brokers: endpoints.kafka.brokers,
    logLevel: logLevel.NOTHING,
  });
  const eventsTopic = `asyncapi-events-${suffix}`;
  const readingsTopic = `asyncapi-readings-${suffix}`;
  const debeziumHeartbeat = '__debezium-heartbeat.monolith';
  /** captured topic → the channel address it stands for */
  const channelOf: Record<string, string> = {
    [endpoints.topics.heatingSystems]: 'monolith.public.heating_systems',
    [endpoints.topics.temperatureSensors]: 'monolith.public.temperature_sensors',
    [endpoints.topics.heartbeat]: 'monolith.public.cdc_heartbeat',
    [debeziumHeartbeat]: debeziumHeartbeat,
    [eventsTopic]: 'device-management.device-events',
    [`${eventsTopic}.dlq`]: 'device-management.device-events.dlq',
    [readingsTopic]: 'telemetry.readings.v1',
    [`${readingsTopic}.dlq`]: 'telemetry.readings.v1.dlq',
  };
  let monolith: Pool;
  let service: RunningDeviceManagement;
  let recorder: Awaited<ReturnType<typeof recordTopics>>;
  let validators: ReturnType<typeof messageValidators>;
  const admin = kafka.admin();

  beforeAll(async () => {
    validators = messageValidators(await parseAsyncApi());
    await admin.connect();
    await ensureTopics(admin, [{ topic: eventsTopic }, { topic: `${eventsTopic}.dlq` }]);
    await ensureCommandTopic(admin, readingsTopic, 2, `${readingsTopic}.dlq`);
    // Debezium creates its heartbeat topic with the first heartbeat (every 10 s)
    await waitFor('the Debezium heartbeat topic', async () =>
      (await admin.listTopics()).includes(debeziumHeartbeat) ? true : undefined,
    );
    monolith = new Pool({ connectionString: endpoints.postgres.monolithUrl, max: 2 });
    const dmUrl = await prepareDeviceManagementDatabase(
      endpoints.postgres.superuserUrl,
      { user: 'device_management', password: 'device-management-test' },
      { database: `dm_asyncapi_${suffix}` },
    );
    service = await startDeviceManagement(
      loadDeviceManagementConfig({
        PORT: '0',
        DATABASE_URL: dmUrl,
        MONOLITH_DATABASE_URL: endpoints.postgres.monolithUrl,
        KAFKA_BROKERS: endpoints.kafka.brokers.join(','),
        KAFKA_CLIENT_ID: `dm-asyncapi-${suffix}`,
        CDC_HEATING_TOPIC: endpoints.topics.heatingSystems,
        CDC_GROUP_ID: `dm-asyncapi-sync-${suffix}`,
        DEVICE_EVENTS_TOPIC: eventsTopic,
        WRITE_BACK_GROUP_ID: `dm-asyncapi-write-back-${suffix}`,
        OUTBOX_POLL_MS: '200',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      }),
      logger,
      { defaultMetrics: false },
    );
    recorder = await recordTopics(endpoints.kafka.brokers, Object.keys(channelOf));
  });

  afterAll(async () => {
    await recorder?.stop();
    await service?.stop();
    await monolith?.end();
    await admin.disconnect();
  });

  it('every captured message matches its channel, and every kind of message was captured', async () => {
    // CDC: insert, update, delete (+ tombstone) on both tables
    const heating = await monolith.query<{ id: string }>(
      'INSERT INTO heating_systems (is_on, target_temperature, current_temperature) VALUES (false, 20, 18) RETURNING id',
    );
    const heatingId = Number(heating.rows[0]!.id);
    await monolith.query('UPDATE heating_systems SET is_on = true, target_temperature = 21.5 WHERE id = $1', [
      heatingId,
    ]);
    await monolith.query('DELETE FROM heating_systems WHERE id = $1', [heatingId]);
    const sensor = await monolith.query<{ id: string }>(
      `INSERT INTO temperature_sensors (current_temperature, last_updated) VALUES (19.5, now() AT TIME ZONE 'utc') RETURNING id`,
    );
    const sensorId = Number(sensor.rows[0]!.id);
    await monolith.query('UPDATE temperature_sensors SET current_temperature = 20.25 WHERE id = $1', [sensorId]);
    await monolith.query('DELETE FROM temperature_sensors WHERE id = $1', [sensorId]);

    // device management's own API: registered, settings-changed, deleted (plus the CDC sync's events)
    const registered = await fetch(`${service.url}/api/v1/devices`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': `asyncapi-${suffix}` },
      body: JSON.stringify({ type: 'heating', name: 'AsyncAPI check', houseId: `house-${suffix}` }),
    });
    expect(registered.status).toBe(201);
    const { id: deviceId } = (await registered.json()) as { id: string };
    const patched = await fetch(`${service.url}/api/v1/devices/${deviceId}/settings`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ targetTemperature: 22 }),
    });
    expect(patched.status).toBe(200);
    expect((await fetch(`${service.url}/api/v1/devices/${deviceId}`, { method: 'DELETE' })).status).toBe(204);

    // an unreadable record on the events topic: the write-back worker dead-letters it (consumer error policy)
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: eventsTopic, messages: [{ key: deviceId, value: '{"type":"device.regist' }] });
    await producer.disconnect();

    // telemetry's command log and its dead-letter topic, written by telemetry's own code
    const commandLog = createCommandLog({
      kafka,
      topic: readingsTopic,
      deadLetterTopic: `${readingsTopic}.dlq`,
      logger,
    });
    await commandLog.connect();
    try {
      await commandLog.append(
        [
          {
            deviceId: 'dev-asyncapi',
            metric: 'temperature',
            value: 21.25,
            unit: 'Cel',
            measuredAt: new Date(),
            idempotencyKey: `k-${suffix}`,
            houseId: 'house-1',
            source: 'api',
          },
        ],
        { requestId: `asyncapi-${suffix}` },
      );
      await commandLog.deadLetter(
        { key: Buffer.from('dev-asyncapi'), value: Buffer.from('{"v":2}') },
        {
          [DLQ_HEADERS.reason]: 'malformed',
          [DLQ_HEADERS.error]: 'v: unsupported version 2',
          [DLQ_HEADERS.errorCode]: 'TELEMETRY_ERR_COMMAND_MALFORMED',
          [DLQ_HEADERS.topic]: readingsTopic,
          [DLQ_HEADERS.partition]: '0',
          [DLQ_HEADERS.offset]: '0',
          [DLQ_HEADERS.group]: 'telemetry.projector',
          [DLQ_HEADERS.failedAt]: new Date().toISOString(),
        },
      );
    } finally {
      await commandLog.disconnect();
    }

    const kinds = (all: RecordedMessage[]) => {
      const seen = new Set<string>();
      for (const m of all) {
        const v = m.value as { op?: string; type?: string; ts_ms?: number } | null;
        if (m.topic === endpoints.topics.heatingSystems || m.topic === endpoints.topics.temperatureSensors) {
          const table = m.topic === endpoints.topics.heatingSystems ? 'heating' : 'sensor';
          const id = (m.key as { id?: number } | null)?.id;
          if (id === heatingId || id === sensorId) seen.add(`${table} ${v === null ? 'tombstone' : v.op}`);
        } else if (m.topic === endpoints.topics.heartbeat) seen.add('cdc heartbeat');
        else if (m.topic === debeziumHeartbeat) seen.add('debezium heartbeat');
        else if (m.topic === eventsTopic && typeof v?.type === 'string') seen.add(v.type);
        else seen.add(channelOf[m.topic]!);
      }
      return seen;
    };
    const expected = [
      'heating c',
      'heating u',
      'heating d',
      'heating tombstone',
      'sensor c',
      'sensor u',
      'sensor d',
      'sensor tombstone',
      'cdc heartbeat',
      'debezium heartbeat',
      'device.registered',
      'device.settings-changed',
      'device.deleted',
      'device-management.device-events', // the unreadable record itself
      'device-management.device-events.dlq',
      'telemetry.readings.v1',
      'telemetry.readings.v1.dlq',
    ];
    await recorder.until(
      'every kind of message on its topic',
      (all) => {
        const seen = kinds(all);
        return expected.every((k) => seen.has(k)) ? true : undefined;
      },
      90_000,
    );

    const unreadable = (m: RecordedMessage) => m.topic === eventsTopic && typeof m.value === 'string';
    const checked = recorder.messages.filter((m) => !unreadable(m));
    const problems = checked
      .map((m) => ({ m, problem: validators.problems(channelOf[m.topic]!, m) }))
      .filter((x) => x.problem !== undefined)
      .map(({ m, problem }) => `${m.topic}@${m.offset}: ${problem}`);
    expect(problems).toEqual([]);
    process.stdout.write(`[asyncapi] ${checked.length} captured messages match docs/asyncapi.yaml\n`);
    // and the check does fail: the unreadable record the write-back dead-lettered matches no device event
    const bad = recorder.messages.find(unreadable)!;
    expect(validators.problems('device-management.device-events', bad)).toBeDefined();
  });
});
