import { loadavg } from 'node:os';
import { waitFor } from '@warmhouse/shared';
import { parseDeviceEvent } from '../../src/domain/events';
import { RELAY_LOCK } from '../../src/outbox/relay';
import { startServiceProcess, stopFleet, type ServiceProcess } from '../../../../test/support/service-processes';
import {
  count,
  insertHeating,
  lastSettingOnTopic,
  recordRaw,
  testEnvironment,
  untilConverged,
  untilDevice,
  type TestEnvironment,
} from './support';

const DEVICES = 5;
const WRITES = 1_000;
const KILL_AFTER = 300;
const CONCURRENCY = 8;

/**
 * Two real device-management processes on one stack (outbox relay, write-back and CDC sync in both). 1,000
 * set-temperature writes for 5 devices go through both replicas at once; after 300 the first replica (the first to
 * take the relay's lock) is SIGKILLed and the rest go through the survivor. Then: every acknowledged write has its
 * event on the events topic, each device's events appear in version order (repeats allowed: at least once), and the
 * monolith, device management and the last event of each device agree (drift 0).
 */
describe('device management at 2 replicas: outbox order and write-back under SIGKILL', () => {
  let env: TestEnvironment;
  const replicas: ServiceProcess[] = [];
  let recorder: Awaited<ReturnType<typeof recordRaw>> | undefined;

  beforeAll(async () => {
    env = await testEnvironment();
    // the first replica starts alone and takes the relay's lock, so the replica killed below is the active relay
    const start = (i: number) =>
      startServiceProcess({
        service: 'device-management',
        name: `dm-order-${env.suffix}-${i}`,
        env: env.env({ OUTBOX_LOCK_RETRY_MS: '200' }),
      });
    replicas.push(await start(0));
    await waitFor(
      'the first replica holding the outbox relay lock',
      async () =>
        (await count(
          env.db,
          `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1 AND objid = $2
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
          [RELAY_LOCK.classId, RELAY_LOCK.objId],
        )) === 1
          ? true
          : undefined,
      { timeoutMs: 60_000 },
    );
    replicas.push(await start(1));
  }, 180_000);
  afterAll(() => stopFleet({ recorders: [recorder], processes: replicas, environments: [env] }));

  it('keeps per-device event order and converges with the monolith when a replica is SIGKILLed mid-stream', async () => {
    const ids: number[] = [];
    for (let i = 0; i < DEVICES; i++) ids.push(await insertHeating(env.monolith, { on: true, target: 20 }));
    for (const id of ids) await untilDevice(env.db, id, 'synced', (d) => d !== undefined);
    recorder = await recordRaw(env.endpoints.kafka.brokers, `dm-test-events-${env.suffix}`);

    // every write sets a value no other write sets, so each acknowledged write is one settings change
    let next = 0;
    let acknowledged = 0;
    let failed = 0;
    const [first, second] = replicas as [ServiceProcess, ServiceProcess];
    const writeOne = async (n: number) => {
      const via = n < KILL_AFTER && n % 2 === 0 ? first : second;
      const id = ids[n % DEVICES]!;
      const temperature = (10 + n / 100).toFixed(2);
      const res = await fetch(`${via.url}/api/heating/${id}/set-temperature?temperature=${temperature}`, {
        method: 'POST',
      }).catch(() => undefined);
      if (res?.status === 204) acknowledged++;
      else failed++;
    };
    const worker = async () => {
      while (next < WRITES) {
        const n = next++;
        if (n === KILL_AFTER) await first.kill();
        await writeOne(n);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(acknowledged).toBeGreaterThanOrEqual(WRITES - KILL_AFTER); // every write through the survivor
    expect(first.alive()).toBe(false);
    const relayTakeover = Date.now();

    await waitFor(
      'the outbox published by the surviving relay',
      async () =>
        (await count(env.db, 'SELECT count(*) AS n FROM outbox WHERE published_at IS NULL')) === 0 ? true : undefined,
      { timeoutMs: 120_000 },
    );
    const drainedMs = Date.now() - relayTakeover;
    const changes = await count(
      env.db,
      `SELECT count(*) AS n FROM outbox WHERE event_type = 'device.settings-changed' AND payload->>'origin' = 'device-management'`,
    );
    expect(changes).toBeGreaterThanOrEqual(acknowledged); // nothing acknowledged is lost
    expect(changes).toBeLessThanOrEqual(acknowledged + failed);
    await waitFor(
      'every settings change on the events topic',
      async () => {
        const seen = new Set(
          recorder!.messages
            .map((m) => parseDeviceEvent(m.value))
            .filter((e) => e.type === 'device.settings-changed' && e.origin === 'device-management')
            .map((e) => e.eventId),
        );
        return seen.size >= changes ? true : undefined;
      },
      { timeoutMs: 120_000 },
    );

    // per device, in topic order, first sightings only (a relay that died before stamping republishes): versions grow
    const seen = new Set<string>();
    const versions = new Map<string, number[]>();
    for (const m of recorder.messages) {
      const e = parseDeviceEvent(m.value);
      if (seen.has(e.eventId)) continue;
      seen.add(e.eventId);
      versions.set(e.deviceId, [...(versions.get(e.deviceId) ?? []), e.deviceVersion]);
    }
    console.log(
      `replicas-order: ${acknowledged} writes acknowledged, ${failed} failed (sent to the killed replica), ${changes} changes; outbox drained by the surviving relay ${drainedMs} ms after the last write; ${recorder.messages.length} messages on the topic for ${seen.size} events (load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')})`,
    );
    const outOfOrder = [...versions].filter(([, v]) => v.some((x, i) => i > 0 && x <= v[i - 1]!));
    expect(outOfOrder).toEqual([]);

    // drift 0: the monolith, device management (row for row) and each device's last event agree
    await untilConverged(env.db, env.monolith, 120_000);
    const { rows } = await env.db.query<{ id: string; target_temperature: number }>(
      'SELECT id, target_temperature FROM devices WHERE legacy_id = ANY($1::bigint[])',
      [ids],
    );
    for (const r of rows)
      expect({ device: r.id, last: lastSettingOnTopic(recorder.messages, r.id, 'targetTemperature') }).toEqual({
        device: r.id,
        last: r.target_temperature,
      });
  }, 600_000);
});
