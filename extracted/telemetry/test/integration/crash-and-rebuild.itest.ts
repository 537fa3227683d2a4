import { waitFor } from '@warmhouse/shared';
import { Kafka, logLevel } from 'kafkajs';
import { createKafka } from '../../src/kafka/command-log';
import { rebuildReadModels, type RebuildReport } from '../../src/rebuild';
import {
  getJson,
  ingestLoop,
  spawnEntry,
  startService,
  testEnvironment,
  testLogger,
  waitForProjection,
  type ChildProcessHandle,
  type TestEnvironment,
} from './support';

type Running = Awaited<ReturnType<typeof startService>>;

/** Readings of a few devices, every batch with new times, and every fifth batch repeating the previous one. */
function series(suffix: string, start: number) {
  const devices = Array.from({ length: 8 }, (_, i) => `crash-${suffix}-${i}`);
  return (n: number) => {
    const b = n % 5 === 4 ? n - 1 : n; // a retried request: same readings, same idempotency keys
    return Array.from({ length: 100 }, (_, i) => {
      const deviceId = devices[i % devices.length]!;
      const seq = b * 100 + i;
      return {
        deviceId,
        metric: i % 3 === 0 ? 'humidity' : 'temperature',
        unit: i % 3 === 0 ? '%RH' : 'Cel',
        value: i % 3 === 0 ? seq % 100 : 15 + (seq % 97) / 4,
        measuredAt: new Date(start + seq * 250).toISOString(),
        idempotencyKey: `${deviceId}-${seq}`,
        houseId: `house-${suffix}`,
      };
    });
  };
}

const distinctKeys = (readings: Array<Record<string, unknown>>) =>
  new Set(readings.map((r) => `${String(r.deviceId)}|${String(r.metric)}|${String(r.measuredAt)}`)).size;

describe('projector killed -9 mid-stream, and the rebuild command (real Kafka and PostgreSQL)', () => {
  let env: TestEnvironment;
  let api: Running;
  const children: ChildProcessHandle[] = [];

  // each test its own database: the read models are the projection of one command log
  beforeEach(async () => {
    env = await testEnvironment();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.kill('SIGKILL');
      await c.exited;
    }
    await api?.stop();
    await env?.close();
  });

  /** end offset of every partition that ever received a record (an empty partition has nothing to apply) */
  const highWatermarks = async (topic: string) => {
    const admin = new Kafka({ brokers: env.endpoints.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const partitions = await admin.fetchTopicOffsets(topic);
      return Object.fromEntries(partitions.filter((p) => p.high !== '0').map((p) => [String(p.partition), p.high]));
    } finally {
      await admin.disconnect();
    }
  };

  const verify = async (topic: string): Promise<RebuildReport> => {
    const logger = testLogger('rebuild-verify');
    const kafka = createKafka({ brokers: env.endpoints.kafka.brokers, clientId: `verify-${env.suffix}`, logger });
    return rebuildReadModels({ pool: env.db, kafka, topic, logger, swap: false, timeoutMs: 120_000 });
  };

  it('after kill -9 and restart the read models equal a fresh rebuild from the command log', async () => {
    const overrides = {
      TELEMETRY_COMMAND_TOPIC: `telemetry-test-${env.suffix}.crash`,
      TELEMETRY_PROJECTOR_GROUP: `telemetry-test-${env.suffix}.crash-projector`,
      TELEMETRY_PROJECTOR_SESSION_TIMEOUT_MS: '6000',
      TELEMETRY_PROJECTOR_CHUNK: '300',
    };
    api = await startService(env.env({ ...overrides, TELEMETRY_ROLES: 'api' }));
    const topic = api.config.TELEMETRY_COMMAND_TOPIC;
    const projectorEnv = env.env({ ...overrides, TELEMETRY_ROLES: 'projector', DATABASE_MIGRATE: 'false' });
    const first = spawnEntry('main', projectorEnv);
    children.push(first);
    await first.url;

    const loop = ingestLoop(api.url, series(env.suffix, Date.now() - 20 * 3600_000));
    const applied = async () =>
      Number(
        (
          await env.db.query<{ n: string }>(
            'SELECT coalesce(sum(next_offset), 0) AS n FROM read_model.projection_offsets WHERE topic = $1',
            [topic],
          )
        ).rows[0]!.n,
      );
    await waitFor('the projector to be mid-stream', async () => ((await applied()) > 3_000 ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 20,
    });
    first.kill('SIGKILL');
    expect(await first.exited).toBeNull(); // killed by the signal, no exit code
    const atKill = await applied();
    await waitFor(
      'more readings accepted while the projector is down',
      () => (loop.accepted.length > atKill + 5_000 ? true : undefined),
      {
        timeoutMs: 120_000,
      },
    );

    const second = spawnEntry('main', projectorEnv);
    children.push(second);
    await second.url;
    await waitFor(
      'the restarted projector to apply more',
      async () => ((await applied()) > atKill + 2_000 ? true : undefined),
      {
        timeoutMs: 120_000,
      },
    );
    const sent = await loop.stop();
    await waitForProjection(env.db, env.endpoints, topic, 180_000);

    const { rows } = await env.db.query<{ readings: string; minute: string; hour: string }>(
      `SELECT (SELECT count(*) FROM read_model.readings WHERE device_id LIKE $1) AS readings,
              (SELECT sum(count) FROM read_model.rollups_minute WHERE device_id LIKE $1) AS minute,
              (SELECT sum(count) FROM read_model.rollups_hour WHERE device_id LIKE $1) AS hour`,
      [`crash-${env.suffix}-%`],
    );
    const distinct = distinctKeys(sent);
    expect(sent.length).toBeGreaterThan(distinct); // duplicates were sent
    expect(rows[0]).toEqual({ readings: String(distinct), minute: String(distinct), hour: String(distinct) });

    const report = await verify(topic);
    expect(report.tables.filter((t) => t.onlyLive + t.onlyRebuilt > 0)).toEqual([]);
    expect(report).toMatchObject({ equal: true, swapped: false });
    expect(report.offsets).toEqual(await highWatermarks(topic));
  });

  it('npm run telemetry:rebuild rebuilds and swaps while ingest goes on; the result equals live, and live carries on', async () => {
    const overrides = {
      TELEMETRY_COMMAND_TOPIC: `telemetry-test-${env.suffix}.rebuild`,
      TELEMETRY_PROJECTOR_GROUP: `telemetry-test-${env.suffix}.rebuild-projector`,
    };
    api = await startService(env.env({ ...overrides, TELEMETRY_ROLES: 'api,projector' }));
    const topic = api.config.TELEMETRY_COMMAND_TOPIC;
    const make = series(`${env.suffix}r`, Date.now() - 10 * 3600_000);
    const warmUp = ingestLoop(api.url, make);
    await waitFor('some readings', () => (warmUp.accepted.length >= 5_000 ? true : undefined), { timeoutMs: 120_000 });
    await warmUp.stop();

    // ingest keeps going while the command rebuilds and swaps
    const during = ingestLoop(api.url, (n) => make(n + warmUp.batches()));
    const cli = spawnEntry('rebuild-main', {
      DATABASE_URL: env.databaseUrl,
      KAFKA_BROKERS: env.endpoints.kafka.brokers.join(','),
      TELEMETRY_COMMAND_TOPIC: topic,
      LOG_LEVEL: 'warn',
    });
    children.push(cli);
    const code = await cli.exited;
    const sentDuring = await during.stop();
    expect({ code, output: code === 0 ? '' : cli.output() }).toEqual({ code: 0, output: '' });
    const report = JSON.parse(cli.output().trim().split('\n').pop()!) as RebuildReport;
    expect(report.tables.filter((t) => t.onlyLive + t.onlyRebuilt > 0)).toEqual([]);
    expect(report).toMatchObject({ equal: true, swapped: true });
    expect(report.records).toBeGreaterThan(0);
    expect(report.tables.map((t) => t.table).sort()).toEqual([
      'device_houses',
      'latest',
      'projection_offsets',
      'readings',
      'rollups_hour',
      'rollups_minute',
    ]);

    // the live projector continued on the swapped-in tables: everything sent during the rebuild is there
    await waitForProjection(env.db, env.endpoints, topic, 120_000);
    const last = sentDuring[sentDuring.length - 1]!;
    const latest = await getJson<{ metrics: Array<{ measuredAt: string }> }>(
      `${api.url}/api/v1/telemetry/devices/${String(last.deviceId)}/latest`,
    );
    expect(latest.body.metrics.map((m) => m.measuredAt)).toContain(last.measuredAt);
    const { rows } = await env.db.query<{ n: string }>(
      'SELECT count(*) AS n FROM read_model.readings WHERE device_id LIKE $1',
      [`crash-${env.suffix}r-%`],
    );
    expect(Number(rows[0]!.n)).toBe(distinctKeys([...warmUp.accepted, ...sentDuring]));

    const again = await verify(topic);
    expect(again.offsets).toEqual(await highWatermarks(topic));
    expect(again.tables.filter((t) => t.onlyLive + t.onlyRebuilt > 0)).toEqual([]);
    expect(again.equal).toBe(true);
  });

  it('read models restored from an older backup catch up: the projector seeks back to their offsets', async () => {
    api = await startService(
      env.env({
        TELEMETRY_COMMAND_TOPIC: `telemetry-test-${env.suffix}.restore`,
        TELEMETRY_PROJECTOR_GROUP: `telemetry-test-${env.suffix}.restore-projector`,
        TELEMETRY_ROLES: 'api,projector',
      }),
    );
    const topic = api.config.TELEMETRY_COMMAND_TOPIC;
    const make = series(`${env.suffix}b`, Date.now() - 5 * 3600_000);
    const before = ingestLoop(api.url, make);
    await waitFor('some readings', () => (before.accepted.length >= 2_000 ? true : undefined), { timeoutMs: 60_000 });
    await before.stop();
    await waitForProjection(env.db, env.endpoints, topic);
    // the state of an empty backup taken before the first reading
    await env.db.query(`BEGIN;
      TRUNCATE read_model.readings, read_model.latest, read_model.rollups_minute, read_model.rollups_hour,
               read_model.device_houses;
      UPDATE read_model.projection_offsets SET next_offset = 0;
      COMMIT`);
    const after = ingestLoop(api.url, (n) => make(n + before.batches()));
    await waitFor('more readings', () => (after.accepted.length >= 500 ? true : undefined), { timeoutMs: 60_000 });
    const sentAfter = await after.stop();
    await waitForProjection(env.db, env.endpoints, topic);
    const { rows } = await env.db.query<{ n: string }>('SELECT count(*) AS n FROM read_model.readings');
    expect(Number(rows[0]!.n)).toBe(distinctKeys([...before.accepted, ...sentAfter]));
    const report = await verify(topic);
    expect(report.tables.filter((t) => t.onlyLive + t.onlyRebuilt > 0)).toEqual([]);
    expect(report.equal).toBe(true);
  });
});
