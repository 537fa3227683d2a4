import request from 'supertest';
import { waitFor } from '@warmhouse/shared';
import { createApp as createMonolithApp } from '@warmhouse/monolith-standin';
import type { Express } from 'express';
import { recordTopics, type RecordedMessage } from '../../../../test/support/topic-recorder';
import {
  count,
  insertHeating,
  startService,
  testEnvironment,
  testLogger,
  untilConverged,
  untilDevice,
  type TestEnvironment,
} from './support';

const settingsOf = (m: RecordedMessage) => {
  const v = m.value as {
    op: string;
    after: { is_on: boolean; target_temperature: number; current_temperature: number } | null;
  };
  return (
    v.after && { op: v.op, on: v.after.is_on, target: v.after.target_temperature, current: v.after.current_temperature }
  );
};

/**
 * Write cut-over: a legacy write sent to device management is committed here (with outbox event and write-back
 * record), relayed to Kafka and written back to the monolith; its CDC echo is recognised and not re-applied.
 */
describe('write cut-over with write-back to the monolith', () => {
  let env: TestEnvironment;
  let service: Awaited<ReturnType<typeof startService>>;
  let monolithApp: Express;
  let cdc: Awaited<ReturnType<typeof recordTopics>>;

  beforeAll(async () => {
    env = await testEnvironment();
    service = await startService(env.env());
    monolithApp = createMonolithApp({ pool: env.monolith, logger: testLogger('monolith-standin') });
    cdc = await recordTopics(env.endpoints.kafka.brokers, [env.endpoints.topics.heatingSystems]);
  });
  afterAll(async () => {
    await cdc?.stop();
    await service?.stop();
    await env?.close();
  });

  const changesOf = (id: number) =>
    cdc.messages.filter((m) => m.value !== null && (m.key as { id: number } | null)?.id === id).map(settingsOf);

  /**
   * A barrier for "nothing more will happen": a hardware reading written after everything else comes through
   * CDC after any echo (one partition, commit order), and the outbox and write-backs are drained.
   */
  async function quiesce(id: number, reading: number) {
    await env.monolith.query('UPDATE heating_systems SET current_temperature = $2 WHERE id = $1', [id, reading]);
    await untilDevice(env.db, id, `reading ${reading} applied`, (d) => d?.current_temperature === reading);
    await waitFor('outbox published and no write-back in flight', async () => {
      const pending =
        (await count(env.db, 'SELECT count(*) AS n FROM outbox WHERE published_at IS NULL')) +
        (await count(env.db, `SELECT count(*) AS n FROM write_backs WHERE state IN ('pending', 'applied')`));
      return pending === 0 ? true : undefined;
    });
  }

  it('a turn-on through device management is visible through the monolith GET within seconds, and does not loop', async () => {
    const id = await insertHeating(env.monolith, { on: false, target: 20.5, current: 18 });
    await untilDevice(env.db, id, 'synced', (d) => d !== undefined);

    await request(service.url).post(`/api/heating/${id}/turn-on`).expect(204);
    await waitFor(
      'the monolith to show on: true',
      async () => {
        const res = await request(monolithApp).get(`/api/heating/${id}`);
        return res.text === `{"id":${id},"targetTemperature":20.5,"currentTemperature":0.0,"on":true}`
          ? true
          : undefined;
      },
      { timeoutMs: 15_000 },
    );
    // the write-back's own CDC event came back and was recognised as its echo (same monolith transaction)
    await waitFor('the echo', async () =>
      (await count(
        env.db,
        `SELECT count(*) AS n FROM write_backs w JOIN devices d ON d.id = w.device_id
         WHERE d.legacy_id = $1 AND w.state = 'echoed'`,
        [id],
      )) === 1
        ? true
        : undefined,
    );
    await quiesce(id, 18.5);

    // bounded: one local change → one domain event, one write-back, one monolith row change; nothing bounced back
    const events = await env.db.query(
      `SELECT payload->>'type' AS type, payload->>'origin' AS origin FROM outbox o JOIN devices d ON d.id = o.aggregate_id
       WHERE d.legacy_id = $1 ORDER BY o.id`,
      [id],
    );
    expect(events.rows).toEqual([
      { type: 'device.registered', origin: 'monolith' },
      { type: 'device.settings-changed', origin: 'device-management' },
    ]);
    expect(
      await count(
        env.db,
        'SELECT count(*) AS n FROM write_backs w JOIN devices d ON d.id = w.device_id WHERE d.legacy_id = $1',
        [id],
      ),
    ).toBe(1);
    expect(changesOf(id)).toEqual([
      { op: 'c', on: false, target: 20.5, current: 18 },
      { op: 'u', on: true, target: 20.5, current: 18 }, // the write-back
      { op: 'u', on: true, target: 20.5, current: 18.5 }, // the barrier reading
    ]);
    const device = await untilDevice(env.db, id, 'final', () => true);
    expect(device).toMatchObject({ is_on: true, target_temperature: 20.5, current_temperature: 18.5 });
  });

  it('set-temperature and PUT are written back; a repeated command writes nothing', async () => {
    const id = await insertHeating(env.monolith, { on: true, target: 19, current: 17 });
    await untilDevice(env.db, id, 'synced', (d) => d !== undefined);
    await request(service.url).post(`/api/heating/${id}/set-temperature?temperature=22.5`).expect(204);
    await request(service.url)
      .put(`/api/heating/${id}`)
      .set('Content-Type', 'application/json')
      .send('{"on":false,"targetTemperature":23}')
      .expect(200);
    await request(service.url).post(`/api/heating/${id}/turn-off`).expect(204); // already off: no change
    await quiesce(id, 17.5);
    const monolithRow = await env.monolith.query(
      'SELECT is_on, target_temperature FROM heating_systems WHERE id = $1',
      [id],
    );
    expect(monolithRow.rows[0]).toEqual({ is_on: false, target_temperature: 23 });
    expect(
      await count(
        env.db,
        `SELECT count(*) AS n FROM write_backs w JOIN devices d ON d.id = w.device_id WHERE d.legacy_id = $1`,
        [id],
      ),
    ).toBe(2);
    // create + set-temperature + PUT write-backs + the barrier: no echo produced anything more
    expect(changesOf(id).length).toBe(4);
  });

  it('a burst of local changes and concurrent monolith changes of the other setting converge on both sides without ping-pong', async () => {
    const id = await insertHeating(env.monolith, { on: false, target: 20, current: 17 });
    await untilDevice(env.db, id, 'synced', (d) => d !== undefined);
    for (let i = 1; i <= 10; i++) {
      await request(service.url)
        .post(`/api/heating/${id}/set-temperature?temperature=${20 + i / 2}`)
        .expect(204);
      // the monolith (a route not yet moved) changes the other setting meanwhile
      await env.monolith.query('UPDATE heating_systems SET is_on = $2 WHERE id = $1', [id, i % 2 === 1]);
    }
    await quiesce(id, 17.25);
    const m = await env.monolith.query('SELECT is_on, target_temperature FROM heating_systems WHERE id = $1', [id]);
    expect(m.rows[0]).toEqual({ is_on: false, target_temperature: 25 });
    expect(await untilDevice(env.db, id, 'final', () => true)).toMatchObject({ is_on: false, target_temperature: 25 });
    const localChanges = await count(
      env.db,
      `SELECT count(*) AS n FROM outbox o JOIN devices d ON d.id = o.aggregate_id
       WHERE d.legacy_id = $1 AND o.payload->>'origin' = 'device-management'`,
      [id],
    );
    expect(localChanges).toBe(10); // one per request; nothing re-emitted by echoes
    // monolith row changes: create, 10 on/off flips, at most 10 write-backs, the barrier — bounded, no bouncing
    expect(changesOf(id).length).toBeLessThanOrEqual(22);
    await untilConverged(env.db, env.monolith);
  });

  it('GET through device management answers what the monolith answers after a cut-over write', async () => {
    const id = await insertHeating(env.monolith, { on: false, target: 21, current: 19 });
    await untilDevice(env.db, id, 'synced', (d) => d !== undefined);
    await request(service.url).post(`/api/heating/${id}/set-temperature?temperature=1e7`).expect(204);
    await quiesce(id, 19.5);
    for (const path of [`/api/heating/${id}`, `/api/heating/${id}/current-temperature`]) {
      const [ours, theirs] = [await request(service.url).get(path), await request(monolithApp).get(path)];
      expect(ours.text).toBe(theirs.text);
    }
  });
});
