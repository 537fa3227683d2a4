import { Pool } from 'undici';
import { startTestStrangler, type TestStrangler } from './testing/strangler';
import { monolithAndService, startUpstream, type TestUpstream } from './testing/upstreams';

/** Seconds of load; 20 by default (the figure), shorter locally with TOGGLE_TEST_SECONDS. */
const SECONDS = Number(process.env.TOGGLE_TEST_SECONDS ?? 20);
const FLIP_EVERY_MS = 100;
const CONCURRENCY = 16;
/** The load goes on past SECONDS until this many flips and requests happened (a slow machine just takes longer). */
const MIN_FLIPS = 50;
const MIN_REQUESTS = 2_000;
/** ...but never longer than this (the jest timeout is above it). */
const MAX_SECONDS = SECONDS + 60;
const TOKEN = 'toggle-test-token-0123456789';

interface Outcome {
  start: number;
  end: number;
  status: number;
  decided?: string;
  servedBy?: string;
  error?: string;
}

describe('runtime toggle under load', () => {
  let a: TestUpstream;
  let b: TestUpstream;
  let s: TestStrangler;

  beforeAll(async () => {
    // Each upstream answers after 0-15 ms so that many requests are in flight whenever the route flips.
    const tagged = (name: string) =>
      startUpstream(name, (req, res) => {
        req.resume();
        req.on('end', () =>
          setTimeout(() => {
            res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': name });
            res.end(name);
          }, Math.random() * 15),
        );
      });
    a = await tagged('monolith');
    b = await tagged('device-management');
    s = await startTestStrangler({
      name: 'toggle',
      token: TOKEN,
      routes: {
        upstreams: monolithAndService(a.url, b.url),
        routes: [{ id: 'turn-on', methods: ['POST'], path: '/api/heating/:id/turn-on', target: 'monolith' }],
      },
    });
  });

  afterAll(async () => {
    await s.stop();
    await a.close();
    await b.close();
  });

  it(
    `flips a route every ${FLIP_EVERY_MS} ms for ${SECONDS} s under continuous load: no failures, every response from its recorded target`,
    async () => {
      const client = new Pool(s.proxyUrl, { connections: CONCURRENCY });
      const admin = new Pool(s.adminUrl, { connections: 1 });
      const outcomes: Outcome[] = [];
      const flips: Array<{ at: number; to: string; status: number }> = [];
      const started = Date.now();
      const enough = () =>
        Date.now() - started >= MAX_SECONDS * 1000 ||
        (Date.now() - started >= SECONDS * 1000 && flips.length >= MIN_FLIPS && outcomes.length >= MIN_REQUESTS);

      const worker = async (n: number): Promise<void> => {
        for (let i = 0; !enough(); i++) {
          const o: Outcome = { start: performance.now(), end: 0, status: 0 };
          try {
            const r = await client.request({ method: 'POST', path: `/api/heating/${n}-${i}/turn-on`, body: 'x' });
            o.status = r.statusCode;
            o.decided = r.headers['x-strangler-upstream'] as string | undefined;
            o.servedBy = await r.body.text();
          } catch (err) {
            o.error = (err as Error).message;
          }
          o.end = performance.now();
          outcomes.push(o);
        }
      };

      const flipper = async (): Promise<void> => {
        let to = 'device-management';
        while (!enough()) {
          const at = performance.now();
          const r = await admin.request({
            method: 'PUT',
            path: '/api/routes/turn-on/target',
            headers: {
              authorization: `Bearer ${TOKEN}`,
              'content-type': 'application/json',
              'x-strangler-actor': 'toggle-test',
            },
            body: JSON.stringify({ target: to, reason: 'toggle test' }),
          });
          await r.body.dump();
          flips.push({ at, to, status: r.statusCode });
          to = to === 'monolith' ? 'device-management' : 'monolith';
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, FLIP_EVERY_MS - (performance.now() - at))));
        }
      };

      await Promise.all([flipper(), ...Array.from({ length: CONCURRENCY }, (_, n) => worker(n))]);
      await client.close();
      await admin.close();

      const failed = outcomes.filter((o) => o.error !== undefined || o.status !== 200);
      const mismatched = outcomes.filter((o) => o.status === 200 && o.decided !== o.servedBy);
      const spanning = outcomes.filter((o) => flips.some((f) => f.at > o.start && f.at < o.end));
      const perSecond = outcomes.length / ((Date.now() - started) / 1000);
      const served = { monolith: a.seen.length, 'device-management': b.seen.length };
      process.stdout.write(
        `toggle test: ${outcomes.length} requests (${perSecond.toFixed(0)}/s), ${flips.length} flips, ` +
          `${spanning.length} requests in flight across a flip, served ${JSON.stringify(served)}\n`,
      );

      expect(failed).toEqual([]);
      expect(mismatched).toEqual([]);
      expect(flips.every((f) => f.status === 200)).toBe(true);
      expect(flips.length).toBeGreaterThanOrEqual(MIN_FLIPS);
      expect(outcomes.length).toBeGreaterThanOrEqual(MIN_REQUESTS);
      expect(spanning.length).toBeGreaterThan(0);
      expect(Math.min(served.monolith, served['device-management'])).toBeGreaterThan(outcomes.length / 5);
      const audit = await s.store.readAudit({ routeId: 'turn-on' });
      expect(audit).toHaveLength(flips.length);
    },
    (MAX_SECONDS + 40) * 1000,
  );
});
