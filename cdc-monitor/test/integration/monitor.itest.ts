import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import { Pool } from 'pg';
import { createLogger, waitFor } from '@warmhouse/shared';
import { prepareDeviceManagementDatabase } from '../../../extracted/device-management/src/database';
import { readTestEndpoints } from '../../../test/stack-endpoints';
import { connectWorkerControl } from '../../../test/stack-control';
import { createMonitor, createMonitorHandler, startFreshnessTail, type CdcSnapshot, type DriftReport } from '../../src';

const TOKEN = 'monitor-itest-token-0123456789';

/** The CDC monitor against the real stack: its own consumer group, its own rows, its own HTTP server on port 0. */
describe('CDC monitor against the real stack', () => {
  const endpoints = readTestEndpoints();
  const logger = createLogger('cdc-monitor-itest', 'silent');
  // the monitor reads pg_replication_slots and public.cdc_heartbeat (owned by the superuser who prepared the source)
  const monitorDbUrl = Object.assign(new URL(endpoints.postgres.superuserUrl), { pathname: '/smart_home' }).toString();
  const pool = new Pool({ connectionString: monitorDbUrl, max: 3 });
  const kafka = new Kafka({
    clientId: `monitor-itest-${randomUUID()}`,
    brokers: endpoints.kafka.brokers,
    logLevel: logLevel.NOTHING,
  });
  const group = `monitor-itest-${randomUUID()}`;
  const topics = [endpoints.topics.heatingSystems, endpoints.topics.temperatureSensors, endpoints.topics.heartbeat];
  let admin: Admin;
  let copyDb: Pool;
  let tail: Awaited<ReturnType<typeof startFreshnessTail>>;
  let server: Server;
  let base: string;
  const ids: number[] = [];

  const snapshot = async (): Promise<CdcSnapshot> => {
    const res = await fetch(`${base}/api/cdc`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as CdcSnapshot;
  };
  const metrics = async () =>
    (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) {
      const { rows } = await pool.query<{ id: string }>(
        'INSERT INTO heating_systems (is_on, target_temperature, current_temperature) VALUES (false, 18, 20) RETURNING id',
      );
      ids.push(Number(rows[0]?.id));
    }
    // device management's schema in a database of this file's own, under a role of its own
    const copyUrl = await prepareDeviceManagementDatabase(
      endpoints.postgres.superuserUrl,
      { user: 'cdc_monitor_itest', password: 'cdc-monitor-itest' },
      { database: `monitor_drift_${randomUUID().slice(0, 8)}` },
    );
    copyDb = new Pool({ connectionString: copyUrl, max: 2 });
    admin = kafka.admin();
    await admin.connect();
    tail = await startFreshnessTail(kafka, topics, logger);
    const monitor = createMonitor({
      connectUrl: endpoints.connect.url,
      connectors: [endpoints.connectorName],
      pool,
      slots: [endpoints.slotName],
      admin,
      consumerGroups: [group],
      topics,
      lastChanges: tail.last,
      thresholds: { walRetainedAlarmBytes: 1024 ** 3, freshnessAlarmSeconds: 600, heartbeatAlarmSeconds: 600 },
      logger,
      deviceManagementPool: copyDb,
      driftRangeSize: 2,
    });
    server = createServer(createMonitorHandler({ monitor, token: TOKEN, logger }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await tail?.stop();
    await admin?.disconnect();
    await pool.end();
    await copyDb?.end();
  });

  it('reports the running connector, the slot, the heartbeat and per-table freshness', async () => {
    await pool.query('UPDATE heating_systems SET target_temperature = 19 WHERE id = $1', [ids[0]]);
    const s = await waitFor(
      'a healthy snapshot with heating_systems freshness',
      async () => {
        const s = await snapshot();
        const fresh = s.freshness.find((f) => f.topic === endpoints.topics.heatingSystems);
        return s.connectors[0]?.healthy && fresh?.freshnessSeconds !== null ? s : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(s.connectors[0]).toMatchObject({ name: endpoints.connectorName, reachable: true, state: 'RUNNING' });
    expect(s.slots).toMatchObject({ ok: true, value: [{ name: endpoints.slotName, present: true, active: true }] });
    if (!s.slots.ok) throw new Error(s.slots.error);
    expect(s.slots.value[0]?.retainedWalBytes).toBeGreaterThanOrEqual(0);
    expect(s.slots.value[0]?.confirmedFlushLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(s.heartbeat).toMatchObject({ ok: true });
    const fresh = s.freshness.find((f) => f.topic === endpoints.topics.heatingSystems);
    expect(fresh).toMatchObject({ table: 'public.heating_systems', overThreshold: false });
    expect(fresh?.freshnessSeconds).toBeLessThan(60);
    const text = await metrics();
    expect(text).toContain(`cdc_connector_running{connector="${endpoints.connectorName}"} 1`);
    expect(text).toContain(`cdc_replication_slot_active{slot="${endpoints.slotName}"} 1`);
    expect(text).toMatch(
      /cdc_table_freshness_seconds\{topic="monolith.public.heating_systems",table="public.heating_systems"\}/,
    );
  });

  it('reports the lag of a consumer that stopped while changes kept coming', async () => {
    const consumer: Consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topics: [endpoints.topics.heatingSystems], fromBeginning: true });
    await consumer.run({ eachMessage: async () => undefined });
    const lagOf = (s: CdcSnapshot) =>
      s.lag.ok ? s.lag.value.filter((r) => r.group === group).reduce((sum, r) => sum + r.lag, 0) : undefined;
    try {
      await waitFor(
        'the consumer to catch up',
        async () => {
          const s = await snapshot();
          return s.lag.ok && s.lag.value.some((r) => r.group === group) && lagOf(s) === 0 ? true : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
    } finally {
      await consumer.disconnect();
    }
    for (const [i, id] of ids.entries()) {
      await pool.query('UPDATE heating_systems SET target_temperature = $2 WHERE id = $1', [id, 25 + i]);
    }
    const s = await waitFor(
      'the lag of the stopped consumer',
      async () => {
        const s = await snapshot();
        return (lagOf(s) ?? 0) >= ids.length ? s : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(s.lag.ok && s.lag.value.find((r) => r.group === group)).toMatchObject({
      topic: endpoints.topics.heatingSystems,
    });
    expect(await metrics()).toMatch(new RegExp(`cdc_consumer_group_lag_messages\\{group="${group}"\\} [1-9]`));
  });

  it('reports a stopped Connect worker as unreachable, never healthy, and RUNNING again once it is back', async () => {
    const worker = connectWorkerControl();
    await worker.stop();
    try {
      const s = await snapshot();
      expect(s.healthy).toBe(false);
      expect(s.connectors[0]).toMatchObject({ reachable: false, state: 'UNREACHABLE', healthy: false });
      const text = await metrics();
      expect(text).toContain(`cdc_connector_running{connector="${endpoints.connectorName}"} 0`);
      expect(text).toContain(`cdc_connector_state{connector="${endpoints.connectorName}",state="UNREACHABLE"} 1`);
    } finally {
      await worker.start();
    }
    await waitFor(
      'the connector RUNNING again',
      async () => ((await snapshot()).connectors[0]?.healthy ? true : undefined),
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
  });

  it('finds no drift in an identical copy, then names the keys changed or removed directly in the copy', async () => {
    const own: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { rows } = await pool.query<{ id: string }>(
        'INSERT INTO heating_systems (is_on, target_temperature, current_temperature) VALUES ($1, $2, 20.5) RETURNING id',
        [i % 2 === 0, 18 + i / 10],
      );
      own.push(Number(rows[0]?.id));
    }
    const { rows } = await pool.query<{ id: string; is_on: boolean; t: number; c: number }>(
      'SELECT id, is_on, target_temperature AS t, current_temperature AS c FROM heating_systems WHERE id = ANY($1)',
      [own],
    );
    for (const r of rows) {
      await copyDb.query(
        `INSERT INTO devices (type, name, origin, legacy_id, is_on, target_temperature, current_temperature)
         VALUES ('heating', $1, 'monolith', $2, $3, $4, $5)`,
        [`Heating ${r.id}`, r.id, r.is_on, r.t, r.c],
      );
    }
    const range = { from: String(Math.min(...own)), to: String(Math.max(...own)) };
    const drift = async () => {
      const res = await fetch(`${base}/api/cdc/drift`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(range),
      });
      expect(res.status).toBe(200);
      return (await res.json()) as DriftReport;
    };

    expect(await drift()).toMatchObject({ sourceRows: 5, copyRows: 5, rangesDiffering: 0, differing: [] });

    await copyDb.query('UPDATE devices SET target_temperature = 30.5 WHERE legacy_id = $1', [own[1]]);
    await copyDb.query('DELETE FROM devices WHERE legacy_id = $1', [own[3]]);
    const report = await drift();
    expect(report).toMatchObject({ sourceRows: 5, copyRows: 4 });
    expect(report.differing).toEqual([
      { id: String(own[1]), kind: 'different', columns: ['target_temperature'] },
      { id: String(own[3]), kind: 'missing_in_copy' },
    ]);
    expect(await metrics()).toContain(
      'cdc_drift_rows{table="smart_home.public.heating_systems",copy="device_management.public.devices"} 2',
    );
    expect((await snapshot()).drift?.differing).toHaveLength(2);
  });
});
