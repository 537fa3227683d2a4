import request from 'supertest';
import { runCli } from './cli';
import type { RunningStrangler } from './server';
import type { AuditEntry } from './table/audit';
import { createStranglerFixture, type StranglerFixture } from './testing/strangler';
import { monolithAndService, startUpstream, type TestUpstream } from './testing/upstreams';

const TOKEN = 'canary-test-token-0123456789';
const KEYS = Array.from({ length: 400 }, (_, i) => `house-${i}`);

/** Which upstream answered each key (read from the tiny upstream's tagged body and the decision header). */
async function sides(proxyUrl: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < KEYS.length; i += 50) {
    await Promise.all(
      KEYS.slice(i, i + 50).map(async (k) => {
        const res = await fetch(`${proxyUrl}/api/heating/7`, { headers: { 'x-house-id': k } });
        const body = (await res.json()) as { upstream: string };
        expect(res.headers.get('x-strangler-upstream')).toBe(body.upstream);
        out.set(k, body.upstream);
      }),
    );
  }
  return out;
}

describe('canary route end to end (file → proxy, CLI and admin API changes, audit, restart)', () => {
  let mono: TestUpstream;
  let dm: TestUpstream;
  let fixture: StranglerFixture;
  let s: RunningStrangler | undefined;

  beforeAll(async () => {
    mono = await startUpstream('monolith');
    dm = await startUpstream('device-management');
    fixture = createStranglerFixture({
      name: 'canary',
      token: TOKEN,
      routes: {
        upstreams: monolithAndService(mono.url, dm.url),
        routes: [
          {
            id: 'heating-get',
            methods: ['GET'],
            path: '/api/heating/:id',
            target: 'device-management',
            mode: 'canary',
            weight: 30,
            canary: { key: { header: 'X-House-Id', param: 'id' }, allowOverride: true },
          },
        ],
      },
    });
  });
  afterAll(async () => {
    await s?.stop();
    await mono.close();
    await dm.close();
    fixture.remove();
  });

  const start = async () => {
    s = await fixture.start();
    return s;
  };
  const cli = async (args: string[]) => {
    let out = '';
    let err = '';
    const code = await runCli(args, {
      out: (x) => (out += x),
      err: (x) => (err += x),
      env: { STRANGLER_ADMIN_URL: s!.adminUrl, STRANGLER_ADMIN_TOKEN: TOKEN },
    });
    return { code, out, err };
  };

  it('splits by key from the file, moves keys only forward, keeps them across a restart, audits every change', async () => {
    const first = await start();
    const at30 = await sides(first.proxyUrl);
    const share30 = [...at30.values()].filter((u) => u === 'device-management').length / KEYS.length;
    expect(share30).toBeGreaterThan(0.2);
    expect(share30).toBeLessThan(0.4);
    expect(await sides(first.proxyUrl)).toEqual(at30); // sticky while the weight stays

    // tester override (the route allows it)
    const forced = await fetch(`${first.proxyUrl}/api/heating/7`, {
      headers: { 'x-house-id': KEYS.find((k) => at30.get(k) === 'monolith')!, 'x-strangler-target': 'service' },
    });
    expect(((await forced.json()) as { upstream: string }).upstream).toBe('device-management');

    const set = await cli(['route', 'set', 'heating-get', '--weight', '50', '--reason', 'error rate flat at 30 %']);
    expect(set).toMatchObject({ code: 0, err: '' });
    expect(set.out).toMatch(/heating-get: canary 30% device-management .* → canary 50% device-management/);
    const at50 = await sides(first.proxyUrl);
    for (const k of KEYS) if (at30.get(k) === 'device-management') expect(at50.get(k)).toBe('device-management');

    await first.stop();
    s = undefined;
    const second = await start(); // persisted table (weight 50) wins over the unchanged routes file
    expect(await sides(second.proxyUrl)).toEqual(at50);

    const back = await request(second.adminUrl)
      .patch('/api/routes/heating-get')
      .set('Authorization', `Bearer ${TOKEN}`)
      .set('X-Strangler-Actor', 'alice')
      .send({ mode: 'forward', reason: 'promote' });
    expect(back.status).toBe(200);
    expect(back.body.route).toMatchObject({ mode: 'forward', target: 'device-management' });
    expect([...(await sides(second.proxyUrl)).values()].every((u) => u === 'device-management')).toBe(true);

    const bad = await request(second.adminUrl)
      .patch('/api/routes/heating-get')
      .set('Authorization', `Bearer ${TOKEN}`)
      .send({ weight: 101, reason: 'oops' });
    expect(bad.status).toBe(400);
    const none = await request(second.adminUrl)
      .patch('/api/routes/heating-get')
      .set('Authorization', `Bearer ${TOKEN}`)
      .send({ reason: 'nothing' });
    expect(none.status).toBe(400);
    expect(none.body.detail).toMatch(/at least one of target, mode, weight/);

    const audit = await request(second.adminUrl)
      .get('/api/audit?route=heating-get')
      .set('Authorization', `Bearer ${TOKEN}`);
    const entries = audit.body.entries as AuditEntry[];
    const updates = entries.filter((e) => e.action === 'route.updated');
    expect(updates.map((e) => [e.reason, (e.before as { weight?: number }).weight, e.after])).toEqual([
      ['error rate flat at 30 %', 30, expect.objectContaining({ mode: 'canary', weight: 50 })],
      ['promote', 50, expect.objectContaining({ mode: 'forward' })],
    ]);
    expect(updates[1]).toMatchObject({ actor: 'token:admin', declaredActor: 'alice' });

    const shadowApi = await request(second.adminUrl)
      .get('/api/shadow/heating-get')
      .set('Authorization', `Bearer ${TOKEN}`);
    expect(shadowApi.body).toMatchObject({ route: 'heating-get', mode: 'forward', diffs: [] });
    expect((await request(second.adminUrl).get('/api/shadow').set('Authorization', `Bearer ${TOKEN}`)).body).toEqual({
      routes: {},
      inFlight: 0,
      circuits: {},
    });
    expect((await request(second.adminUrl).get('/api/breakers').set('Authorization', `Bearer ${TOKEN}`)).body).toEqual({
      upstreams: {},
    });

    const list = await cli(['route', 'set', 'heating-get', '--mode', 'canary', '--weight', '25', '--reason', 'r']);
    expect(list.code).toBe(0);
    expect((await cli(['routes', 'list'])).out).toMatch(
      /heating-get\s+GET\s+\/api\/heating\/:id\s+device-management\s+canary 25%/,
    );
    expect((await cli(['route', 'set', 'heating-get', '--weight', 'x', '--reason', 'r'])).code).toBe(2);
    expect((await cli(['route', 'set', 'heating-get', '--reason', 'r'])).code).toBe(2);
  }, 30_000);
});
