import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runCli } from './cli';
import { startTestStrangler, type TestStrangler } from './testing/strangler';
import { monolithAndService } from './testing/upstreams';

const TOKEN = 'cli-test-token-0123456789';

describe('strangler CLI', () => {
  let s: TestStrangler;

  beforeAll(async () => {
    s = await startTestStrangler({
      name: 'cli',
      token: TOKEN,
      routes: {
        upstreams: monolithAndService('http://127.0.0.1:9', 'http://127.0.0.1:10'),
        routes: [
          {
            id: 'heating-turn-on',
            methods: ['POST'],
            path: '/api/heating/:id/turn-on',
            target: 'monolith',
            notes: '204, empty body',
          },
          { id: 'heating-get', methods: ['GET'], path: '/api/heating/:id', target: 'monolith' },
        ],
      },
    });
  });
  afterAll(() => s.stop());

  const run = async (
    args: string[],
    env: NodeJS.ProcessEnv = { STRANGLER_ADMIN_URL: s.adminUrl, STRANGLER_ADMIN_TOKEN: TOKEN },
  ) => {
    let out = '';
    let err = '';
    const code = await runCli(args, { out: (x) => (out += x), err: (x) => (err += x), env });
    return { code, out, err };
  };

  it('lists routes as a readable table', async () => {
    const r = await run(['routes', 'list']);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('table version 1, default target monolith');
    expect(lines[1]).toMatch(/^ID\s+METHODS\s+PATH\s+TARGET\s+MODE\s+NOTES$/);
    expect(lines[3]).toMatch(
      /^heating-turn-on\s+POST\s+\/api\/heating\/:id\/turn-on\s+monolith\s+forward\s+204, empty body$/,
    );
  });

  it('refuses a change based on an older table version (--if-version) with exit 4, and lists the fleet', async () => {
    const version = s.store.storeVersion;
    const stale = await run([
      'route',
      'set',
      'heating-get',
      '--mode',
      'unavailable',
      '--reason',
      'x',
      '--if-version',
      String(version - 1),
    ]);
    expect(stale.code).toBe(4);
    expect(stale.err).toMatch(new RegExp(`based on version ${version - 1}, the route table is at version ${version}`));
    expect(s.store.current.spec.routes.find((r) => r.id === 'heating-get')!.mode).toBe('forward');
    const bad = await run(['route', 'set', 'heating-get', '--mode', 'forward', '--reason', 'x', '--if-version', 'v1']);
    expect(bad.code).toBe(2);
    const fleet = await run(['fleet']);
    expect(fleet.code).toBe(0);
    expect(fleet.out).toMatch(/^PROCESS\s+VERSION\s+FROM\s+LAST SEEN\s+PLANS$/m);
    expect(fleet.out).toContain(`store version ${version}: converged`);
  });

  it('flips a route and shows it in the audit log', async () => {
    const set = await run([
      'route',
      'set',
      'heating-turn-on',
      '--target',
      'device-management',
      '--reason',
      'extracted',
    ]);
    expect(set).toMatchObject({ code: 0, out: 'heating-turn-on: monolith → device-management (table version 2)\n' });
    const again = await run([
      'route',
      'set',
      'heating-turn-on',
      '--target',
      'device-management',
      '--reason',
      'extracted',
    ]);
    expect(again.out).toContain('already on device-management');
    const audit = await run(['audit', '--route', 'heating-turn-on']);
    expect(audit.code).toBe(0);
    expect(audit.out).toMatch(/route\.retargeted\s+heating-turn-on\s+monolith → device-management\s+extracted/);
    expect(audit.out).toMatch(/\(cli\)/);
    const json = await run(['--json', 'route', 'get', 'heating-turn-on']);
    expect(JSON.parse(json.out)).toMatchObject({ route: { target: 'device-management' } });
    const ups = await run(['upstreams', 'list']);
    expect(ups.out).toMatch(/device-management\s+http:\/\/127\.0\.0\.1:10\s+2000\/30000\/60000\s+heating-turn-on/);
  });

  it('exits 6 when the admin API answers 403 (a person without the role), naming the problem', async () => {
    const forbidding = createServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ status: 403, code: 'PROXY_ERR_ADMIN_FORBIDDEN', detail: 'a change needs role x' }));
    });
    await new Promise<void>((resolve) => forbidding.listen(0, '127.0.0.1', resolve));
    const seen: string[] = [];
    forbidding.on('request', (req) => seen.push(String(req.headers.authorization)));
    try {
      const url = `http://127.0.0.1:${(forbidding.address() as AddressInfo).port}`;
      const r = await run(['route', 'set', 'heating-get', '--target', 'monolith', '--reason', 'x'], {
        STRANGLER_ADMIN_URL: url,
        STRANGLER_ADMIN_TOKEN: TOKEN,
        STRANGLER_ACCESS_TOKEN: 'a-persons-token',
      });
      expect(r).toMatchObject({
        code: 6,
        err: expect.stringMatching(/forbidden: a change needs role x \(PROXY_ERR_ADMIN_FORBIDDEN\)/),
      });
      expect(seen[0]).toBe('Bearer a-persons-token'); // the person's token wins over the shared one
    } finally {
      await new Promise((resolve) => forbidding.close(resolve));
    }
  });

  it('exits 4 on a rejected change, naming the problem', async () => {
    const r = await run(['route', 'set', 'heating-get', '--target', 'ghost', '--reason', 'x']);
    expect(r.code).toBe(4);
    expect(r.err).toMatch(/target: unknown upstream "ghost".* \(PROXY_ERR_INVALID_TABLE\)/);
    const missing = await run(['route', 'set', 'nope', '--target', 'monolith', '--reason', 'x']);
    expect(missing.code).toBe(4);
    expect(missing.err).toContain('no route "nope" (PROXY_ERR_ROUTE_NOT_FOUND)');
  });

  it('exits 3 without a valid token, 5 when the admin API is unreachable, 2 on usage errors', async () => {
    expect(
      (
        await run(['routes', 'list'], {
          STRANGLER_ADMIN_URL: s.adminUrl,
          STRANGLER_ADMIN_TOKEN: 'wrong-token-0123456789',
        })
      ).code,
    ).toBe(3);
    const down = await run(['routes', 'list'], {
      STRANGLER_ADMIN_URL: 'http://127.0.0.1:9',
      STRANGLER_ADMIN_TOKEN: TOKEN,
    });
    expect(down.code).toBe(5);
    expect(down.err).toContain('cannot reach the admin API');
    expect((await run(['route', 'set', 'heating-get', '--reason', 'no target'])).code).toBe(2);
    expect((await run(['frobnicate'])).code).toBe(2);
    expect((await run(['--help'])).code).toBe(0);
  });
});
