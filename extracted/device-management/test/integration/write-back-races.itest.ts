import request from 'supertest';
import { parseDeviceEvent, type DeviceEvent } from '../../src/domain/events';
import { createWriteBackHandler } from '../../src/writeback/write-back';
import { insertHeating, startService, testEnvironment, testLogger, untilDevice, type TestEnvironment } from './support';

/**
 * The write-back handler against the real databases, fed by hand: an event delivered after a newer one of the same
 * device and field (out of order) is refused, and the same event delivered twice at once writes the monolith once
 * and keeps the transaction id of the write that changed it (its echo stays recognised).
 */
describe('write-back: version guard and concurrent duplicates', () => {
  let env: TestEnvironment;
  let service: Awaited<ReturnType<typeof startService>>;
  let handle: ReturnType<typeof createWriteBackHandler>;
  const ctx = { logger: testLogger('write-back-races') };

  beforeAll(async () => {
    env = await testEnvironment();
    // the API and the read sync only: this test is the write-back worker and the relay
    service = await startService(env.env({ OUTBOX_RELAY_ENABLED: 'false', WRITE_BACK_ENABLED: 'false' }));
    handle = createWriteBackHandler({ pool: env.db, monolithPool: env.monolith, metrics: service.metrics });
  });
  afterAll(async () => {
    await service?.stop();
    await env?.close();
  });

  /** The settings-changed events of one legacy device in the outbox, oldest first. */
  async function settingsEvents(legacyId: number): Promise<DeviceEvent[]> {
    const { rows } = await env.db.query<{ payload: unknown }>(
      `SELECT o.payload FROM outbox o JOIN devices d ON d.id = o.aggregate_id
       WHERE d.legacy_id = $1 AND o.event_type = 'device.settings-changed' ORDER BY o.id`,
      [legacyId],
    );
    return rows.map((r) => parseDeviceEvent(JSON.stringify(r.payload)));
  }

  const monolithTarget = async (id: number) =>
    (await env.monolith.query<{ t: number }>('SELECT target_temperature AS t FROM heating_systems WHERE id = $1', [id]))
      .rows[0]?.t;

  it('refuses an event older than the one already applied for that device and field', async () => {
    const id = await insertHeating(env.monolith, { on: true, target: 19 });
    await untilDevice(env.db, id, 'synced', (d) => d !== undefined);
    await request(service.url).post(`/api/heating/${id}/set-temperature?temperature=21`).expect(204);
    await request(service.url).post(`/api/heating/${id}/set-temperature?temperature=23`).expect(204);
    const [older, newer] = await settingsEvents(id);

    expect(await handle(newer!, ctx)).toBe('applied');
    expect(await monolithTarget(id)).toBe(23);
    expect(await handle(older!, ctx)).toBe('stale'); // delivered late: refused, the monolith keeps the newer value
    expect(await monolithTarget(id)).toBe(23);
    const { rows } = await env.db.query<{ state: string }>('SELECT state FROM write_backs WHERE event_id = $1', [
      older!.eventId,
    ]);
    expect(rows[0]?.state).toBe('superseded');
  });

  it('the same event delivered twice at once writes the monolith once and keeps the txid of that write', async () => {
    const id = await insertHeating(env.monolith, { on: false, target: 20 });
    await untilDevice(env.db, id, 'synced', (d) => d !== undefined);
    await request(service.url).post(`/api/heating/${id}/turn-on`).expect(204);
    const [event] = await settingsEvents(id);

    const results = await Promise.all([handle(event!, ctx), handle(event!, ctx), handle(event!, ctx)]);
    expect(results.sort()).toEqual(['applied', 'duplicate', 'duplicate']);
    // the transaction that wrote the monolith row is the one recorded for echo recognition
    const written = await env.monolith.query<{ xid: string }>(
      'SELECT xmin::text AS xid FROM heating_systems WHERE id = $1',
      [id],
    );
    const recorded = await env.db.query<{ txid: string; state: string }>(
      'SELECT monolith_txid::text AS txid, state FROM write_backs WHERE event_id = $1',
      [event!.eventId],
    );
    expect(recorded.rows[0]?.txid).toBe(written.rows[0]?.xid);
    expect(['applied', 'echoed']).toContain(recorded.rows[0]?.state); // echoed once its CDC echo came back
  });
});
