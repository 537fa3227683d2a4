import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { DLQ_HEADERS } from '@warmhouse/messaging';
import { createLogger, waitFor } from '@warmhouse/shared';
import { Kafka, logLevel } from 'kafkajs';
import { Pool } from 'pg';
import { readTestEndpoints } from '../../../test/stack-endpoints';
import {
  createChangeEventConsumer,
  connectRequest,
  isNewer,
  registerAllConnectors,
  registerConnector,
  monolithTables,
  positionOf,
  type ChangeEventConsumer,
  type ChangeEventOf,
  type ConnectorConfig,
} from '../../src';

type MonolithEvent = ChangeEventOf<typeof monolithTables>;

jest.setTimeout(120_000);

const endpoints = readTestEndpoints();
const logger = createLogger('cdc-itest', process.env.LOG_LEVEL ?? 'silent');
const kafka = new Kafka({ clientId: 'cdc-itest', brokers: endpoints.kafka.brokers, logLevel: logLevel.NOTHING });
const monolith = new Pool({ connectionString: endpoints.postgres.monolithUrl });
const scratch = new Pool({ connectionString: endpoints.postgres.superuserUrl });
const consumers: ChangeEventConsumer[] = [];
const cleanups: Array<() => Promise<void>> = [];

/** A consumer in its own group that records every event it is handed. */
async function collect(topics: string[]) {
  const events: MonolithEvent[] = [];
  const groupId = `cdc-itest-${randomUUID()}`;
  const consumer = createChangeEventConsumer({
    kafka,
    groupId,
    topics,
    logger,
    tables: monolithTables,
    handle: async (event) => {
      events.push(event);
    },
  });
  consumers.push(consumer);
  await consumer.start();
  return { events, consumer, groupId };
}

function heatingEvents(events: MonolithEvent[], id: number) {
  return events.filter(
    (e): e is Extract<MonolithEvent, { table: 'public.heating_systems' }> =>
      e.table === 'public.heating_systems' && (e.after?.id ?? e.before?.id) === id,
  );
}

afterAll(async () => {
  await Promise.all([...consumers.map((c) => c.stop()), ...cleanups.map((c) => c())]);
  await Promise.all([monolith.end(), scratch.end()]);
});

describe('Debezium change events from the real stack', () => {
  it('delivers the rows that existed before the connector as snapshot reads', async () => {
    const { rows } = await monolith.query<{ id: string }>('SELECT id FROM heating_systems WHERE id <= 4 ORDER BY id');
    const seeded = rows.map((r) => Number(r.id));
    expect(seeded.length).toBeGreaterThan(0);
    const { events } = await collect([endpoints.topics.heatingSystems, endpoints.topics.temperatureSensors]);

    const reads = await waitFor(
      'snapshot reads of the seeded rows',
      () => {
        const r = events.filter((e) => e.op === 'r' && e.table === 'public.heating_systems');
        return seeded.every((id) => r.some((e) => e.after?.id === id)) ? r : undefined;
      },
      { timeoutMs: 30_000 },
    );
    for (const read of reads) {
      expect(read).toMatchObject({ snapshot: true, before: null, key: { id: read.after?.id } });
      expect(typeof read.lsn).toBe('bigint');
    }
    const sensorReads = await waitFor('sensor snapshot reads', () => {
      const r = events.filter((e) => e.op === 'r' && e.table === 'public.temperature_sensors');
      return r.length > 0 ? r : undefined;
    });
    for (const read of sensorReads) {
      if (read.table !== 'public.temperature_sensors') throw new Error('narrowing');
      expect(read.after?.last_updated).toBeInstanceOf(Date);
      expect(Math.abs((read.after?.last_updated.getTime() ?? 0) - Date.now())).toBeLessThan(24 * 3600_000);
    }
  });

  it('streams insert, update and delete with full before/after images, each change with its own LSN', async () => {
    const { events, consumer } = await collect([endpoints.topics.heatingSystems]);
    const inserted = await monolith.query<{ id: string }>(
      'INSERT INTO heating_systems (is_on, target_temperature, current_temperature) VALUES (false, 20.5, 18.0) RETURNING id',
    );
    const id = Number(inserted.rows[0]?.id);
    const client = await monolith.connect();
    try {
      await client.query('BEGIN');
      await client.query('UPDATE heating_systems SET target_temperature = 21.0 WHERE id = $1', [id]);
      await client.query('UPDATE heating_systems SET is_on = true, target_temperature = 22.0 WHERE id = $1', [id]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await monolith.query('DELETE FROM heating_systems WHERE id = $1', [id]);

    const mine = await waitFor('c, u, u, d for the new row', () => {
      const e = heatingEvents(events, id);
      return e.some((x) => x.op === 'd') ? e : undefined;
    });
    expect(mine.map((e) => e.op)).toEqual(['c', 'u', 'u', 'd']);
    const [created, first, second, deleted] = mine as [MonolithEvent, MonolithEvent, MonolithEvent, MonolithEvent];
    expect(created).toMatchObject({
      before: null,
      after: { id, is_on: false, target_temperature: 20.5 },
      snapshot: false,
    });
    expect(first).toMatchObject({ before: { target_temperature: 20.5 }, after: { target_temperature: 21 } });
    expect(second).toMatchObject({
      before: { target_temperature: 21, is_on: false },
      after: { target_temperature: 22, is_on: true },
    });
    expect(deleted).toMatchObject({ before: { id, is_on: true, target_temperature: 22 }, after: null, key: { id } });

    expect(first.txId).toBe(second.txId);
    expect(second.lsn).toBeGreaterThan(first.lsn);
    expect(first.lsn).toBeGreaterThan(created.lsn);
    expect(deleted.lsn).toBeGreaterThan(second.lsn);
    expect(Math.abs(created.sourceTsMs - Date.now())).toBeLessThan(60_000);
    await waitFor('the tombstone after the delete to be skipped', () =>
      consumer.stats().tombstones > 0 ? true : undefined,
    );
  });

  it('re-applying the same events through the documented conditional upsert changes nothing', async () => {
    const table = `cdc_itest_projection_${randomUUID().replace(/-/g, '')}`;
    await scratch.query(
      `CREATE TABLE ${table} (id bigint PRIMARY KEY, target_temperature float8, deleted boolean NOT NULL DEFAULT false, cdc_position bigint NOT NULL)`,
    );
    const apply = async (e: MonolithEvent): Promise<boolean> => {
      if (e.table !== 'public.heating_systems') return false;
      const row = e.after ?? e.before;
      const result = await scratch.query(
        `INSERT INTO ${table} AS t (id, target_temperature, deleted, cdc_position) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET target_temperature = EXCLUDED.target_temperature, deleted = EXCLUDED.deleted,
           cdc_position = EXCLUDED.cdc_position
         WHERE t.cdc_position < EXCLUDED.cdc_position OR (t.cdc_position = 0 AND EXCLUDED.cdc_position = 0)`,
        [row?.id, row?.target_temperature, e.op === 'd', positionOf(e).toString()],
      );
      return result.rowCount === 1;
    };
    const projected = async (id: number) =>
      (await scratch.query(`SELECT target_temperature, deleted, cdc_position FROM ${table} WHERE id = $1`, [id]))
        .rows[0];

    try {
      const { events } = await collect([endpoints.topics.heatingSystems]);
      const inserted = await monolith.query<{ id: string }>(
        'INSERT INTO heating_systems (is_on, target_temperature, current_temperature) VALUES (true, 19.0, 18.0) RETURNING id',
      );
      const id = Number(inserted.rows[0]?.id);
      await monolith.query('UPDATE heating_systems SET target_temperature = 23.5 WHERE id = $1', [id]);
      const mine = await waitFor('c and u of the new row', () => {
        const e = heatingEvents(events, id);
        return e.length >= 2 ? e : undefined;
      });
      const snapshotRead = events.find((e) => e.op === 'r' && e.table === 'public.heating_systems');

      const firstPass = [];
      for (const e of mine) firstPass.push(await apply(e));
      expect(firstPass).toEqual([true, true]);
      const after = await projected(id);
      expect(after).toMatchObject({ target_temperature: 23.5, deleted: false, cdc_position: mine[1]!.lsn.toString() });

      const replay = [];
      for (const e of [...mine, ...mine.slice().reverse()]) replay.push(await apply(e));
      expect(replay).toEqual([false, false, false, false]);
      expect(await projected(id)).toEqual(after);
      expect(isNewer(positionOf(mine[0]!), BigInt(after.cdc_position))).toBe(false);

      if (snapshotRead) {
        const sid = snapshotRead.after?.id ?? 0;
        expect(await apply(snapshotRead)).toBe(true);
        expect(await apply(snapshotRead)).toBe(true);
        expect((await projected(sid))?.cdc_position).toBe('0');
      }
    } finally {
      await scratch.query(`DROP TABLE IF EXISTS ${table}`);
    }
  });

  it('dead-letters a malformed message on the real broker and commits past it; stop() commits handled offsets', async () => {
    const topic = `cdc-itest-${randomUUID()}`;
    const admin = kafka.admin();
    const producer = kafka.producer();
    await Promise.all([admin.connect(), producer.connect()]);
    try {
      await admin.createTopics({
        topics: [
          { topic, numPartitions: 1 },
          { topic: `${topic}.dlq`, numPartitions: 1 },
        ],
        waitForLeaders: true,
      });
      await producer.send({
        topic,
        messages: [
          { key: '{"id":1}', value: 'this is not json', headers: { 'x-request-id': 'req-dlq-1' } },
          { key: '{"id":1}', value: null },
          {
            key: '{"id":1}',
            value: JSON.stringify({ op: 'u', before: null, after: { id: 1 }, source: { table: 'heating_systems' } }),
          },
        ],
      });
      const { consumer, groupId } = await collect([topic]);
      await waitFor(
        'both bad messages to be dead-lettered',
        () => (consumer.stats().deadLettered === 2 ? true : undefined),
        {
          timeoutMs: 30_000,
        },
      );
      expect(consumer.stats().tombstones).toBe(1);
      await consumer.stop();

      const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
      expect(offsets[0]?.partitions[0]?.offset).toBe('3');

      const dlqSeen: Array<Record<string, string>> = [];
      const reader = kafka.consumer({ groupId: `cdc-itest-dlq-${randomUUID()}` });
      cleanups.push(() => reader.disconnect());
      await reader.connect();
      await reader.subscribe({ topic: `${topic}.dlq`, fromBeginning: true });
      await reader.run({
        eachMessage: async ({ message }) => {
          dlqSeen.push(Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])));
        },
      });
      await waitFor('two dead letters', () => (dlqSeen.length === 2 ? true : undefined), { timeoutMs: 30_000 });
      expect(dlqSeen[0]).toMatchObject({
        [DLQ_HEADERS.reason]: 'malformed',
        [DLQ_HEADERS.topic]: topic,
        [DLQ_HEADERS.offset]: '0',
        [DLQ_HEADERS.group]: groupId,
        'x-request-id': 'req-dlq-1',
      });
      expect(dlqSeen[0]?.[DLQ_HEADERS.error]).toMatch(/^value is not valid JSON/);
      expect(dlqSeen[1]).toMatchObject({ [DLQ_HEADERS.offset]: '2' });
    } finally {
      await Promise.all([admin.disconnect(), producer.disconnect()]);
    }
  });
});

describe('connector registration against the real Kafka Connect', () => {
  const connectUrl = endpoints.connect.url;
  const current = async () =>
    (await connectRequest(connectUrl, 'GET', `/connectors/${endpoints.connectorName}/config`)).body as ConnectorConfig;

  it('registering the running connector again changes nothing and reports RUNNING', async () => {
    const running = await current();
    const results = await registerAllConnectors({
      connectUrl,
      dir: path.resolve(__dirname, '..', '..', 'connectors'),
      env: {
        MONOLITH_DB_HOST: running['database.hostname'],
        MONOLITH_DB_PORT: running['database.port'],
        MONOLITH_DB_NAME: running['database.dbname'],
        DEBEZIUM_DB_USER: running['database.user'],
        DEBEZIUM_DB_PASSWORD: running['database.password'],
      },
      logger,
    });
    expect(results).toEqual([
      expect.objectContaining({
        name: endpoints.connectorName,
        outcome: 'unchanged',
        pluginVersion: expect.stringMatching(/^3\.6\./),
      }),
    ]);
    expect(results[0]?.status.tasks.map((t) => t.state)).toEqual(['RUNNING']);
  });

  it("reports Connect's own message when it rejects a config", async () => {
    const name = `itest-rejected-${randomUUID()}`;
    const config = {
      ...(await current()),
      name,
      'slot.name': 'itest_rejected',
      'snapshot.mode': 'sometimes',
    } as unknown as ConnectorConfig;
    let err: { code?: string; message?: string } | undefined;
    try {
      await registerConnector(connectUrl, { name, config }, { logger });
    } catch (e) {
      err = e as typeof err;
    }
    expect(err?.code).toBe('CDC_ERR_CONNECT_REJECTED');
    expect(err?.message).toMatch(/answered 400 to PUT .*snapshot\.mode/s);
    expect((await connectRequest(connectUrl, 'GET', `/connectors/${name}`, { accept: [404] })).status).toBe(404);
  });
});
