import { loadavg } from 'node:os';
import { waitFor } from '@warmhouse/shared';
import { percentile } from '../../../../proxy/test/integration/fleet-support';
import { startServiceProcesses, stopFleet, type ServiceProcess } from '../../../../test/support/service-processes';
import {
  count,
  insertHeating,
  lastSettingOnTopic,
  recordRaw,
  testEnvironment,
  untilDevice,
  type TestEnvironment,
} from './support';

const ROUNDS = 50;
/**
 * Every third round the monolith is written directly too: in every other such round at the same moment as the
 * replicas, in the rest right after both replicas acknowledged (racing their write-backs instead of their requests).
 */
const MONOLITH_EVERY = 3;
/** a round not agreeing within this fails the test; after this many such rounds the test stops (fails fast) */
const ROUND_TIMEOUT_MS = 30_000;
const GIVE_UP_AFTER = 3;

/**
 * Two real device-management processes on one stack. Each round writes the target temperature of one device through
 * both replicas at the same moment (and, every third round, straight into the monolith database too: at the same
 * moment or right after), each writer its own value; then the round waits until the monolith, device management
 * (through the API of both replicas) and the last settings change of the device on the events topic agree on one of
 * the round's values, with nothing left in flight (no unpublished outbox row, no write-back waiting for its echo).
 * All rounds must agree; the convergence times and which writer's value won are printed with the load average.
 */
describe('device management at 2 replicas: concurrent same-field writes converge', () => {
  let env: TestEnvironment;
  let replicas: ServiceProcess[] = [];
  let recorder: Awaited<ReturnType<typeof recordRaw>> | undefined;

  beforeAll(async () => {
    env = await testEnvironment();
    replicas = await startServiceProcesses({
      service: 'device-management',
      count: 2,
      prefix: `dm-converge-${env.suffix}`,
      env: () => env.env({ OUTBOX_POLL_MS: '100', OUTBOX_LOCK_RETRY_MS: '200' }),
    });
  }, 180_000);
  afterAll(() => stopFleet({ recorders: [recorder], processes: replicas, environments: [env] }));

  it(`agrees on the last value after each of ${ROUNDS} rounds of racing writes through both replicas and the monolith`, async () => {
    const legacyId = await insertHeating(env.monolith, { on: true, target: 20 });
    const device = await untilDevice(env.db, legacyId, 'synced', (d) => d !== undefined);
    const deviceId = (await env.db.query<{ id: string }>('SELECT id FROM devices WHERE legacy_id = $1', [legacyId]))
      .rows[0]!.id;
    expect(device?.target_temperature).toBe(20);
    recorder = await recordRaw(env.endpoints.kafka.brokers, `dm-test-events-${env.suffix}`);
    const [a, b] = replicas as [ServiceProcess, ServiceProcess];

    const setVia = async (replica: ServiceProcess, value: string) => {
      const res = await fetch(`${replica.url}/api/heating/${legacyId}/set-temperature?temperature=${value}`, {
        method: 'POST',
      });
      expect(res.status).toBe(204);
    };
    const setInMonolith = (value: string) =>
      env.monolith.query('UPDATE heating_systems SET target_temperature = $1 WHERE id = $2', [value, legacyId]);
    const targetVia = (replica: ServiceProcess) =>
      fetch(`${replica.url}/api/heating/${legacyId}`)
        .then((r) => r.json() as Promise<{ targetTemperature: number }>)
        .then((h) => h.targetTemperature);
    const observe = async () => {
      const [monolith, viaA, viaB, unpublished, inFlight] = await Promise.all([
        env.monolith.query<{ t: number }>('SELECT target_temperature AS t FROM heating_systems WHERE id = $1', [
          legacyId,
        ]),
        targetVia(a),
        targetVia(b),
        count(env.db, 'SELECT count(*) AS n FROM outbox WHERE published_at IS NULL'),
        count(env.db, `SELECT count(*) AS n FROM write_backs WHERE state IN ('pending', 'applied')`),
      ]);
      return {
        monolith: monolith.rows[0]?.t,
        service: viaA === viaB ? viaA : `a ${viaA}, b ${viaB}`,
        topic: lastSettingOnTopic(recorder!.messages, deviceId, 'targetTemperature'),
        inFlight: unpublished + inFlight,
      };
    };

    const times: number[] = [];
    const outcomes: Array<{ round: number; agreed: number | undefined; values: number[] }> = [];
    const started = Date.now();
    for (let round = 0; round < ROUNDS; round++) {
      // every writer its own value, none written in another round
      const base = 10 + round / 10;
      const values = [base, base + 0.03, base + 0.06].map((v) => v.toFixed(2));
      const withMonolith = round % MONOLITH_EVERY === 0;
      const monolithLast = withMonolith && round % (2 * MONOLITH_EVERY) !== 0;
      await Promise.all([
        setVia(a, values[0]!),
        setVia(b, values[1]!),
        withMonolith && !monolithLast && setInMonolith(values[2]!),
      ]);
      if (monolithLast) await setInMonolith(values[2]!);
      const written = Date.now();
      const candidates = (withMonolith ? values : values.slice(0, 2)).map(Number);
      let last: Awaited<ReturnType<typeof observe>> | undefined;
      const agreed = await waitFor(
        `round ${round}: monolith, device management and the events topic to agree on one of ${candidates.join(', ')}`,
        async () => {
          last = await observe();
          const same = last.monolith === last.service && last.service === last.topic;
          return same && last.inFlight === 0 && candidates.includes(last.monolith!) ? last.monolith : undefined;
        },
        { timeoutMs: ROUND_TIMEOUT_MS, intervalMs: 50 },
      ).catch(() => undefined);
      times.push(Date.now() - written);
      outcomes.push({ round, agreed, values: candidates });
      if (agreed === undefined) console.log(`replicas-converge: round ${round} did not agree: ${JSON.stringify(last)}`);
      if (outcomes.filter((o) => o.agreed === undefined).length >= GIVE_UP_AFTER) break;
    }

    const sorted = [...times].sort((x, y) => x - y);
    // which writer's value the round ended on: replica a, replica b or the monolith (a race has more than one winner)
    const wins = ['a', 'b', 'monolith'].map(
      (w, i) => `${w} ${outcomes.filter((o) => o.agreed !== undefined && o.agreed === o.values[i]).length}`,
    );
    console.log(
      `replicas-converge: ${outcomes.filter((o) => o.agreed !== undefined).length}/${outcomes.length} rounds agreed (last value from ${wins.join(', ')}); convergence p50 ${percentile(sorted, 50)} ms, p90 ${percentile(sorted, 90)} ms, max ${sorted[sorted.length - 1]} ms; ${((Date.now() - started) / 1000).toFixed(1)} s for the rounds (load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')})`,
    );
    expect(outcomes.filter((o) => o.agreed === undefined)).toEqual([]);
  }, 600_000);
});
