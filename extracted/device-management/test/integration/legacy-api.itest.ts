import request from 'supertest';
import { createApp as createMonolithApp } from '@warmhouse/monolith-standin';
import { runContract } from '@warmhouse/monolith-contract';
import { waitFor } from '@warmhouse/shared';
import type { Express } from 'express';
import {
  count,
  insertHeating,
  startService,
  testEnvironment,
  testLogger,
  untilDevice,
  type TestEnvironment,
} from './support';

/**
 * The monolith's /api/heating served by device management (read sync, outbox relay and write-back running):
 * the monolith contract suite passes unchanged, and the answers are the monolith's byte for byte.
 */
describe('legacy /api/heating on device management', () => {
  let env: TestEnvironment;
  let service: Awaited<ReturnType<typeof startService>>;
  let monolithApp: Express;
  let heatingId: number;

  beforeAll(async () => {
    env = await testEnvironment();
    heatingId = await insertHeating(env.monolith, { on: false, target: 21, current: 19.5 });
    service = await startService(env.env());
    monolithApp = createMonolithApp({ pool: env.monolith, logger: testLogger('monolith-standin') });
    await untilDevice(env.db, heatingId, 'synced', (d) => d !== undefined);
  });
  afterAll(async () => {
    await service?.stop();
    await env?.close();
  });

  it('passes the monolith contract suite, unchanged', async () => {
    const outcomes = await runContract({ baseUrl: service.url, heatingId, missingId: '999999999' });
    expect(outcomes.length).toBeGreaterThan(20);
    const failed = outcomes.filter((o) => !o.passed).map((o) => `${o.name}: ${o.error?.message}`);
    expect(failed).toEqual([]);
  });

  it('answers what the monolith answers, byte for byte (timestamps aside), once the write-back has landed', async () => {
    await request(service.url)
      .put(`/api/heating/${heatingId}`)
      .set('Content-Type', 'application/json')
      .send('{"on":true,"targetTemperature":22}')
      .expect(200);
    await waitFor('the monolith to show the write-back', async () => {
      const res = await request(monolithApp).get(`/api/heating/${heatingId}`);
      return res.text.includes('"targetTemperature":22.0') && res.text.includes('"on":true') ? true : undefined;
    });
    const cases: Array<[string, string, string?]> = [
      ['GET', `/api/heating/${heatingId}`],
      ['GET', `/api/heating/${heatingId}/current-temperature`],
      ['HEAD', `/api/heating/${heatingId}`],
      ['GET', '/api/heating/abc'],
      ['GET', '/api/heating/999999999'],
      ['GET', '/api/heating/999999999/current-temperature'],
      ['POST', '/api/heating/999999999/turn-on'],
      ['POST', `/api/heating/${heatingId}/set-temperature`],
      ['POST', `/api/heating/${heatingId}/set-temperature?temperature=abc`],
      ['PUT', `/api/heating/${heatingId}`, '{"on": tru'],
      ['GET', `/api/heating/${heatingId}/turn-on`],
      ['DELETE', '/api/heating/999999999'],
      ['OPTIONS', `/api/heating/${heatingId}`],
      ['GET', '/api/heating'],
      ['GET', '/api/unknown'],
    ];
    const strip = (text: string) => text.replace(/"timestamp":"[^"]*"/, '"timestamp":"…"');
    for (const [method, path, body] of cases) {
      const send = async (target: Express | string) => {
        let r = request(target)[method.toLowerCase() as 'get'](path);
        if (body !== undefined) r = r.set('Content-Type', 'application/json').send(body);
        return r;
      };
      const [theirs, ours] = [await send(monolithApp), await send(service.url)];
      const describe = (r: request.Response) => ({
        status: r.status,
        contentType: r.headers['content-type'],
        allow: r.headers.allow,
        body: strip(r.text ?? ''),
      });
      expect({ request: `${method} ${path}`, ...describe(ours) }).toEqual({
        request: `${method} ${path}`,
        ...describe(theirs),
      });
    }
  });

  it('X-Strangler-Dry-Run: 1 on legacy writes answers the same and leaves no trace (no change, no event, no write-back)', async () => {
    await request(service.url)
      .put(`/api/heating/${heatingId}`)
      .set('Content-Type', 'application/json')
      .send('{"on":false,"targetTemperature":20.5}')
      .expect(200);
    await waitFor('no write-back in flight', async () =>
      (await count(env.db, `SELECT count(*) AS n FROM write_backs WHERE state IN ('pending','applied')`)) === 0
        ? true
        : undefined,
    );
    const outbox = await count(env.db, 'SELECT count(*) AS n FROM outbox');
    const writeBacks = await count(env.db, 'SELECT count(*) AS n FROM write_backs');
    const dry = { 'X-Strangler-Dry-Run': '1' };
    await request(service.url).post(`/api/heating/${heatingId}/turn-on`).set(dry).expect(204);
    await request(service.url).post(`/api/heating/${heatingId}/set-temperature?temperature=30`).set(dry).expect(204);
    const put = await request(service.url)
      .put(`/api/heating/${heatingId}`)
      .set(dry)
      .set('Content-Type', 'application/json')
      .send('{"on":true,"targetTemperature":25}')
      .expect(200);
    expect(put.text).toBe(`{"id":${heatingId},"targetTemperature":25.0,"currentTemperature":0.0,"on":true}`);
    expect(put.headers['x-strangler-dry-run']).toBe('1');
    const expected = `{"id":${heatingId},"targetTemperature":20.5,"currentTemperature":0.0,"on":false}`;
    expect((await request(service.url).get(`/api/heating/${heatingId}`)).text).toBe(expected);
    expect(await count(env.db, 'SELECT count(*) AS n FROM outbox')).toBe(outbox);
    expect(await count(env.db, 'SELECT count(*) AS n FROM write_backs')).toBe(writeBacks);
    await waitFor('the monolith to keep the real values', async () =>
      (await request(monolithApp).get(`/api/heating/${heatingId}`)).text === expected ? true : undefined,
    );
  });
});
