import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { createKafka } from '../../src/kafka/command-log';
import { rebuildReadModels } from '../../src/rebuild';
import { provisioningRepository as repo } from '../../src/saga/provisioning-repository';
import {
  postJson,
  startService,
  testEnvironment,
  testLogger,
  waitForProjection,
  type TestEnvironment,
} from './support';

type Running = Awaited<ReturnType<typeof startService>>;

const DAY = 86_400_000;

describe('telemetry enforces what the connect-device saga provisioned (real Kafka and PostgreSQL)', () => {
  let env: TestEnvironment;
  let svc: Running;
  let topic: string;
  let admin: ReturnType<Kafka['admin']>;

  beforeAll(async () => {
    env = await testEnvironment();
    // batches of 2 rows, so a sweep of 3 expired readings takes more than one transaction
    svc = await startService(env.env({ TELEMETRY_ROLES: 'api,projector', TELEMETRY_RETENTION_SWEEP_BATCH: '2' }));
    topic = svc.config.TELEMETRY_COMMAND_TOPIC;
    admin = new Kafka({ brokers: env.endpoints.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.disconnect();
    await svc?.stop();
    await env?.close();
  });

  const device = (name: string) => `prov-${env.suffix}-${name}`;
  const reading = (deviceId: string, measuredAt: Date, extra: Record<string, unknown> = {}) => ({
    deviceId,
    metric: 'temperature',
    value: 21,
    unit: 'Cel',
    measuredAt: measuredAt.toISOString(),
    ...extra,
  });
  const provision = (deviceId: string, retentionDays: number, metrics = ['temperature', 'target_temperature']) =>
    repo.provision(env.db, { deviceId, deviceType: 'heating', metrics, retentionDays, sagaId: randomUUID() });
  const records = async () => (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + BigInt(p.high), 0n);
  const ingest = (body: unknown) => postJson(`${svc.url}/api/v1/telemetry`, body);

  it('refuses a batch holding a reading of a deprovisioned device with 422 and publishes none of it', async () => {
    const gone = device('gone');
    await provision(gone, 30);
    await repo.deprovision(env.db, gone);
    const before = await records();

    const res = await ingest({ readings: [reading(device('unknown'), new Date()), reading(gone, new Date())] });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'TELEMETRY_ERR_NOT_PROVISIONED', status: 422 });
    expect(res.body.detail).toContain(gone);
    expect(res.body.errors).toEqual([
      {
        in: 'body',
        field: 'readings[1].deviceId',
        message: `device ${gone} is deprovisioned (its connection was undone): its readings are refused`,
      },
    ]);

    // the next accepted request adds exactly its own record: the refused one left nothing on the command log
    expect((await ingest(reading(device('unknown'), new Date()))).status).toBe(202);
    expect(await records()).toBe(before + 1n);
  });

  it('refuses a metric the device was not provisioned with (422), takes its metrics and unknown devices (202)', async () => {
    const sensor = device('sensor');
    await provision(sensor, 30, ['temperature']);

    const wrong = await ingest(reading(sensor, new Date(), { metric: 'humidity', unit: '%RH', value: 40 }));
    expect(wrong.status).toBe(422);
    expect(wrong.body.code).toBe('TELEMETRY_ERR_NOT_PROVISIONED');
    expect(wrong.body.errors).toEqual([
      {
        in: 'body',
        field: 'metric',
        message: `humidity is not a metric device ${sensor} is provisioned with (temperature)`,
      },
    ]);

    expect(await ingest(reading(sensor, new Date()))).toMatchObject({ status: 202, body: { accepted: 1 } });
    const unknown = await ingest(reading(device('legacy-like'), new Date(), { metric: 'power.heater', unit: 'W' }));
    expect(unknown).toMatchObject({ status: 202, body: { accepted: 1 } });
  });

  it('sweeps raw readings older than each provisioned device keeps, and only those; a rebuild agrees', async () => {
    const now = Date.now();
    const short = device('short');
    const long = device('long');
    const gone = device('gone-later');
    const free = device('free');
    const old = [new Date(now - 3 * DAY), new Date(now - 2 * DAY - 60_000)];
    const recent = new Date(now - 3600_000);
    const res = await ingest({
      readings: [
        ...old.map((at) => reading(short, at)),
        reading(short, recent),
        reading(long, old[0]!),
        reading(gone, old[0]!),
        reading(free, old[0]!),
      ],
    });
    expect(res.status).toBe(202);
    await waitForProjection(env.db, env.endpoints, topic);
    // the devices reported before they were connected: provisioning sets their retention afterwards
    await provision(short, 1);
    await provision(long, 30);
    await provision(gone, 1);
    // retention applies to a deprovisioned device too: it is the data policy, not the connection
    await repo.deprovision(env.db, gone);
    // from now on ingest refuses a reading the sweep would delete (a late retry could otherwise count twice)
    const late = await ingest({ readings: [reading(short, recent), reading(short, old[1]!)] });
    expect(late.status).toBe(422);
    expect(late.body).toMatchObject({
      code: 'TELEMETRY_ERR_NOT_PROVISIONED',
      errors: [{ field: 'readings[1].measuredAt', message: `is older than device ${short}'s retention of 1 day(s)` }],
    });

    const deletedBefore = (await svc.metrics.retentionDeleted.get()).values[0]?.value ?? 0;
    expect(await svc.retentionSweeper!.sweep()).toBe(3);

    const { rows } = await env.db.query<{ device_id: string; measured_at: Date }>(
      `SELECT device_id, measured_at FROM read_model.readings WHERE device_id = ANY($1) ORDER BY device_id, measured_at`,
      [[short, long, gone, free]],
    );
    expect(rows.map((r) => [r.device_id, r.measured_at.toISOString()])).toEqual([
      [free, old[0]!.toISOString()],
      [long, old[0]!.toISOString()],
      [short, recent.toISOString()],
    ]);
    // rollups are kept: the minute buckets of the swept readings are still there
    const rollups = await env.db.query<{ n: string }>(
      `SELECT count(*) AS n FROM read_model.rollups_minute WHERE device_id = $1`,
      [short],
    );
    expect(Number(rollups.rows[0]!.n)).toBe(3);
    expect((await svc.metrics.retentionDeleted.get()).values[0]?.value).toBe(deletedBefore + 3);
    expect(await svc.retentionSweeper!.sweep()).toBe(0);

    // a rebuild replays the swept readings from the command log and applies the same retention before comparing
    const logger = testLogger('rebuild-verify');
    const kafka = createKafka({ brokers: env.endpoints.kafka.brokers, clientId: `verify-${env.suffix}`, logger });
    const report = await rebuildReadModels({ pool: env.db, kafka, topic, logger, swap: false, timeoutMs: 120_000 });
    expect(report.tables.filter((t) => t.onlyLive + t.onlyRebuilt > 0)).toEqual([]);
    expect(report.equal).toBe(true);
  });
});
