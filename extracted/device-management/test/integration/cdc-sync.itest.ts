import { Kafka, logLevel } from 'kafkajs';
import { waitFor } from '@warmhouse/shared';
import { deviceEventSchema } from '../../src/domain/events';
import {
  insertHeating,
  recordRaw,
  startService,
  testEnvironment,
  untilConverged,
  untilDevice,
  type TestEnvironment,
} from './support';

/** Read sync from the real Debezium topic: snapshot, stream, deletes, domain events, dead letters. */
describe('CDC read sync of heating_systems', () => {
  let env: TestEnvironment;
  let service: Awaited<ReturnType<typeof startService>>;
  let existing: number;

  beforeAll(async () => {
    env = await testEnvironment();
    // written before the service ever ran: it must arrive through the topic's history (snapshot or stream)
    existing = await insertHeating(env.monolith, { on: true, target: 23.25, current: 21.75 });
    service = await startService(env.env({ WRITE_BACK_ENABLED: 'false' }));
  });
  afterAll(async () => {
    await service?.stop();
    await env?.close();
  });

  it('rows that existed before the service started appear, including the snapshot rows (op r)', async () => {
    const rows = await untilConverged(env.db, env.monolith);
    expect(rows.length).toBeGreaterThanOrEqual(5);
    // the seeded rows came from Debezium's initial snapshot (op r); other tests may have changed them since, so
    // the check is that every snapshotted row the monolith still has is here, not that it still looks snapshotted
    const topic = await recordRaw(env.endpoints.kafka.brokers, service.config.CDC_HEATING_TOPIC);
    const snapshotIds = await waitFor('the snapshot events on the topic', () => {
      const ids = topic.messages
        .filter((m) => m.value !== '')
        .map((m) => JSON.parse(m.value) as { op: string; after: { id: number } | null })
        .filter((e) => e.op === 'r' && e.after !== null)
        .map((e) => String(e.after!.id));
      return ids.length >= 4 ? ids : undefined;
    }).finally(() => topic.stop());
    const stillInMonolith = await env.monolith.query<{ id: string }>(
      'SELECT id::text AS id FROM heating_systems WHERE id = ANY($1::bigint[]) ORDER BY id',
      [snapshotIds],
    );
    const here = await env.db.query<{ id: string }>(
      `SELECT legacy_id::text AS id FROM devices
       WHERE origin = 'monolith' AND status <> 'deleted' AND legacy_id = ANY($1::bigint[]) ORDER BY legacy_id`,
      [snapshotIds],
    );
    expect(stillInMonolith.rows.length).toBeGreaterThanOrEqual(1);
    expect(here.rows).toEqual(stillInMonolith.rows);
    expect(await untilDevice(env.db, existing, 'present', (d) => d !== undefined)).toMatchObject({
      is_on: true,
      target_temperature: 23.25,
      current_temperature: 21.75,
      status: 'active',
    });
  });

  it('reflects insert, settings update, hardware reading and delete within seconds, and publishes domain events', async () => {
    const recorder = await recordRaw(env.endpoints.kafka.brokers, service.config.DEVICE_EVENTS_TOPIC);
    try {
      const id = await insertHeating(env.monolith, { on: false, target: 19, current: 17 });
      await untilDevice(env.db, id, 'inserted', (d) => d?.target_temperature === 19, 15_000);
      await env.monolith.query('UPDATE heating_systems SET is_on = true, target_temperature = 21.5 WHERE id = $1', [
        id,
      ]);
      await untilDevice(env.db, id, 'updated', (d) => d?.is_on === true && d.target_temperature === 21.5, 15_000);
      await env.monolith.query('UPDATE heating_systems SET current_temperature = 18.25 WHERE id = $1', [id]);
      await untilDevice(env.db, id, 'reading', (d) => d?.current_temperature === 18.25, 15_000);
      await env.monolith.query('DELETE FROM heating_systems WHERE id = $1', [id]);
      await untilDevice(env.db, id, 'deleted', (d) => d?.status === 'deleted', 15_000);

      const events = await waitFor('the device events of the row', () => {
        const mine = recorder.messages
          .map((m) => deviceEventSchema.parse(JSON.parse(m.value)))
          .filter((e) => e.legacyId === String(id));
        return mine.length >= 3 ? mine : undefined;
      });
      expect(recorder.messages.filter((m) => m.key === events[0]?.deviceId)).toHaveLength(3); // keyed by device id
      expect(events.map((e) => [e.type, e.origin])).toEqual([
        ['device.registered', 'monolith'],
        ['device.settings-changed', 'monolith'],
        ['device.deleted', 'monolith'],
      ]);
      expect(events[1]).toMatchObject({ data: { changed: ['on', 'targetTemperature'] } });
      expect(new Set(events.map((e) => e.deviceId)).size).toBe(1);
      // the hardware reading changed no setting: it produced no domain event
      await untilConverged(env.db, env.monolith);
    } finally {
      await recorder.stop();
    }
  });

  it('a deleted row stays deleted when older events are replayed (idempotent by position)', async () => {
    const id = await insertHeating(env.monolith, { target: 20.5 });
    await untilDevice(env.db, id, 'inserted', (d) => d !== undefined);
    await env.monolith.query('DELETE FROM heating_systems WHERE id = $1', [id]);
    await untilDevice(env.db, id, 'deleted', (d) => d?.status === 'deleted');
    // a second consumer group on the same database replays the whole topic from the beginning
    const replay = await startService(
      env.env({
        CDC_GROUP_ID: `dm-test-replay-${env.suffix}`,
        OUTBOX_RELAY_ENABLED: 'false',
        WRITE_BACK_ENABLED: 'false',
      }),
      'replay',
    );
    try {
      await waitFor('the replay to pass the row', async () => {
        const stale = (
          await replay.metrics.registry.getSingleMetric('device_management_cdc_events_total')?.get()
        )?.values
          .filter((v) => v.labels.result === 'stale')
          .reduce((n, v) => n + v.value, 0);
        return (stale ?? 0) > 5 ? true : undefined;
      });
      await untilConverged(env.db, env.monolith);
      expect((await untilDevice(env.db, id, 'still deleted', () => true))?.status).toBe('deleted');
    } finally {
      await replay.stop();
    }
  });

  it('dead-letters malformed change events (bad JSON, missing after) with the reason, and keeps consuming', async () => {
    const topic = `dm-test-malformed-${env.suffix}`;
    const kafka = new Kafka({
      clientId: `dm-test-${env.suffix}`,
      brokers: env.endpoints.kafka.brokers,
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic }, { topic: `${topic}.dlq` }], waitForLeaders: true });
    await admin.disconnect();
    const legacyId = 900_000_000 + Math.floor(Math.random() * 1_000_000);
    const source = {
      version: '3.6.3.Final',
      connector: 'postgresql',
      name: 'monolith',
      ts_ms: Date.now(),
      snapshot: 'false',
      db: 'smart_home',
      schema: 'public',
      table: 'heating_systems',
      txId: 1,
      lsn: 99_000_000_000,
    };
    const row = { id: legacyId, is_on: true, target_temperature: 24.5, current_temperature: 20 };
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        { key: JSON.stringify({ id: legacyId }), value: '{"before":null,"after":' },
        {
          key: JSON.stringify({ id: legacyId }),
          value: JSON.stringify({ before: null, after: null, source, op: 'c', ts_ms: Date.now() }),
        },
        {
          key: JSON.stringify({ id: legacyId }),
          value: JSON.stringify({ before: null, after: row, source, op: 'c', ts_ms: Date.now() }),
        },
      ],
    });
    await producer.disconnect();
    const dlq = await recordRaw(env.endpoints.kafka.brokers, `${topic}.dlq`);
    const consumer = await startService(
      env.env({
        CDC_HEATING_TOPIC: topic,
        CDC_GROUP_ID: `dm-test-malformed-${env.suffix}`,
        OUTBOX_RELAY_ENABLED: 'false',
        WRITE_BACK_ENABLED: 'false',
      }),
      'malformed',
    );
    try {
      const parked = await waitFor('two dead letters', () => (dlq.messages.length >= 2 ? dlq.messages : undefined));
      expect(parked.map((m) => m.headers['x-dlq-original-offset'])).toEqual(['0', '1']);
      expect(parked.map((m) => m.headers['x-dlq-reason'])).toEqual(['malformed', 'malformed']);
      expect(parked[0]?.headers['x-dlq-error']).toMatch(/not valid JSON/);
      expect(parked[1]?.headers['x-dlq-error']).toMatch(/after/);
      // the valid event after them was applied
      expect(await untilDevice(env.db, legacyId, 'applied after the bad ones', (d) => d !== undefined)).toMatchObject({
        is_on: true,
        target_temperature: 24.5,
      });
      const metrics = await consumer.metrics.registry.getSingleMetric('device_management_cdc_dead_lettered')?.get();
      expect(metrics?.values[0]?.value).toBe(2);
    } finally {
      await consumer.stop();
      await dlq.stop();
      await env.db.query('DELETE FROM outbox WHERE aggregate_id IN (SELECT id FROM devices WHERE legacy_id = $1)', [
        legacyId,
      ]);
      await env.db.query('DELETE FROM devices WHERE legacy_id = $1', [legacyId]);
    }
  });
});
