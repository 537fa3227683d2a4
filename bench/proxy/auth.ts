/**
 * Authentication scenario of the proxy benchmark (not a test): the same keep-alive load (autocannon, GET routes of
 * the heating API, every request carrying `Authorization: Bearer <JWT>`, one token per connection) through the
 * strangler proxy with the routes anonymous (auth off) and then with `auth: { required: true }` (auth on), the
 * same routes, alternating `rounds` times; once more with auth on and the verified-token cache off
 * (PROXY_OIDC_TOKEN_CACHE=0 on a second proxy process), to show what every verification would cost. Prints
 * requests/s, p50/p99 and the proxy process's CPU time per request (from /proc) per run, their medians, and the
 * cost of auth as the increase of the proxy's CPU per request (goal: < 10 %), with the load average.
 *
 *   npm run bench:proxy -- --scenario auth [--seconds 5] [--rounds 3] [--connections 50]
 *
 * The issuer is a JWKS served by this script (RS256 key); the backend is the trivial backend. Ports from
 * BENCH_PROXY_PORT_BASE (default 24000); everything is stopped by process id.
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { ManagedProcess } from '../../cdc/src/runtime/processes';
import * as bench from './support';

const scenario = bench.benchScenario({
  name: 'bench-proxy-auth',
  label: 'bench:auth',
  ports: { uncached: 10, uncachedAdmin: 11, monolith: 80, issuer: 84 },
});
const { stateDir: STATE, ports: PORTS, log } = scenario;
const AUDIENCE = 'warm-house-api';

interface Run extends bench.RunFigures {
  /** Proxy CPU per request, microseconds. */
  cpuUs: number;
}

const route = (id: string, p: string, auth: boolean) => ({
  id,
  methods: ['GET'],
  path: p,
  target: 'monolith',
  ...(auth ? { auth: { required: true } } : {}),
});
const routes = (auth: boolean) => [
  route('heating-get', '/api/heating/:id', auth),
  route('heating-current-temperature', '/api/heating/:id/current-temperature', auth),
];

async function startIssuer(): Promise<{ server: http.Server; tokens: string[] }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench-1', alg: 'RS256', use: 'sig' };
  const issuer = `http://127.0.0.1:${PORTS.issuer}`;
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(
        req.url === '/jwks' ? { keys: [jwk] } : { issuer, jwks_uri: `${issuer}/jwks` }, // discovery
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(PORTS.issuer, '127.0.0.1', resolve));
  const now = Math.floor(Date.now() / 1000);
  const tokens = await Promise.all(
    Array.from({ length: 64 }, (_, i) =>
      new SignJWT({ sub: `user-${i}`, aud: AUDIENCE, scope: 'openid devices:read', client_id: 'bench' })
        .setIssuer(issuer)
        .setIssuedAt(now)
        .setExpirationTime(now + 3_600)
        .setProtectedHeader({ alg: 'RS256', kid: 'bench-1', typ: 'at+jwt' })
        .sign(privateKey),
    ),
  );
  return { server, tokens };
}

/** `5.4` → `+5.4`, `-6.6` → `-6.6` */
const signed = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(1)}`;

export async function runAuthScenario(opts: { seconds: number; rounds: number; connections: number }): Promise<void> {
  await bench.prepareBench({ ports: PORTS, stateDir: STATE });
  const admin = randomBytes(24).toString('hex');
  const procs: ManagedProcess[] = [];
  const { server, tokens } = await startIssuer();
  try {
    procs.push(bench.startTrivialBackend('monolith', PORTS.monolith, path.join(STATE, 'monolith.log')));
    const url = (port: number) => `http://127.0.0.1:${port}`;
    const table = (auth: boolean) =>
      JSON.stringify({
        defaultTarget: 'monolith',
        upstreams: [{ name: 'monolith', url: url(PORTS.monolith) }],
        routes: routes(auth),
      });
    writeFileSync(path.join(STATE, 'routes.json'), table(false));
    writeFileSync(path.join(STATE, 'routes-auth.json'), table(true));
    const oidc = { PROXY_OIDC_ISSUER: url(PORTS.issuer), PROXY_OIDC_AUDIENCE: AUDIENCE };
    const proxy = bench.startProxyProcess(STATE, path.join(STATE, 'routes.json'), admin, { env: oidc });
    const uncached = bench.startProxyProcess(STATE, path.join(STATE, 'routes-auth.json'), admin, {
      name: 'proxy-uncached',
      ports: { proxy: PORTS.uncached, admin: PORTS.uncachedAdmin },
      env: { ...oidc, PROXY_OIDC_TOKEN_CACHE: '0' },
    });
    procs.push(proxy, uncached);
    for (const u of [url(PORTS.monolith), url(PORTS.proxy), url(PORTS.uncached)])
      await bench.answers(`${u}/api/heating/1`);

    const setAuth = async (auth: boolean) => {
      for (const r of routes(auth)) {
        const res = await fetch(`${url(PORTS.admin)}/api/routes/${r.id}`, {
          method: 'PUT',
          headers: {
            authorization: `Bearer ${admin}`,
            'content-type': 'application/json',
            'x-strangler-reason': 'bench',
          },
          body: JSON.stringify(r),
        });
        if (!res.ok) throw new Error(`PUT route ${r.id}: ${res.status} ${await res.text()}`);
      }
    };
    /** Auth really on: a token passes, no token is refused (else the figures would measure refusals). */
    const check = async (port: number) => {
      const ok = await fetch(`${url(port)}/api/heating/1`, { headers: { authorization: `Bearer ${tokens[0]}` } });
      const anonymous = await fetch(`${url(port)}/api/heating/1`);
      if (ok.status !== 200 || anonymous.status !== 401)
        throw new Error(
          `auth is not working on :${port}: token ${ok.status} ${await ok.text()}, anonymous ${anonymous.status}`,
        );
    };
    // every connection sends its own token (a client reusing its token, as real clients do)
    let next = 0;
    const load = (port: number, seconds: number) =>
      bench.autocannon({
        url: url(port),
        connections: opts.connections,
        duration: seconds,
        pipelining: 1,
        requests: bench.REQUESTS,
        setupClient: (client) => {
          const authorization = `Bearer ${tokens[next++ % tokens.length]}`;
          client.setRequests(bench.REQUESTS.map((r) => ({ ...r, headers: { authorization } })));
        },
      });
    const measure = async (name: string, p: ManagedProcess, port: number): Promise<Run> => {
      await load(port, 1);
      const cpu0 = bench.cpuMs(p.pid);
      const r = await load(port, opts.seconds);
      const cpu = bench.cpuMs(p.pid) - cpu0;
      const run: Run = {
        ...bench.runFigures(name, r),
        cpuUs: (cpu * 1000) / Math.max(1, r.requests.total),
      };
      log(
        `${name.padEnd(16)} ${run.rps.toFixed(0).padStart(7)} req/s  p50 ${run.p50} ms  p99 ${run.p99} ms  proxy CPU ${run.cpuUs.toFixed(1)} µs/request  failures ${run.failures}  (load ${bench.loadAverage()})`,
      );
      return run;
    };

    log(
      `${opts.rounds} rounds of ${opts.seconds} s, ${opts.connections} connections, ${tokens.length} tokens (RS256); load average ${bench.loadAverage()} (other processes on the machine skew the figures)`,
    );
    await load(PORTS.proxy, 5); // JIT and pools warm up before anything is measured
    const runs: Run[] = [];
    for (let round = 1; round <= opts.rounds; round++) {
      await setAuth(false);
      runs.push(await measure('auth off', proxy, PORTS.proxy));
      await setAuth(true);
      await check(PORTS.proxy);
      runs.push(await measure('auth on', proxy, PORTS.proxy));
    }
    await check(PORTS.uncached);
    await load(PORTS.uncached, 3);
    runs.push(await measure('auth on, no cache', uncached, PORTS.uncached));
    summarise(runs);
  } finally {
    for (const p of procs.reverse()) await p.stop(10_000);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function summarise(runs: Run[]): void {
  const of = (name: string) => runs.filter((r) => r.name === name);
  const med = (name: string, k: 'rps' | 'p50' | 'p99' | 'cpuUs') => bench.median(of(name).map((r) => r[k]));
  for (const name of ['auth off', 'auth on', 'auth on, no cache']) {
    log(
      `median ${name.padEnd(18)} ${med(name, 'rps').toFixed(0).padStart(7)} req/s  p50 ${med(name, 'p50')} ms  p99 ${med(name, 'p99')} ms  proxy CPU ${med(name, 'cpuUs').toFixed(1)} µs/request`,
    );
  }
  const off = med('auth off', 'cpuUs');
  const cost = (name: string) => ((med(name, 'cpuUs') - off) / off) * 100;
  log(
    `auth cost: ${signed(cost('auth on'))} % proxy CPU per request with the token cache (goal < 10 %: ${cost('auth on') < 10 ? 'met' : 'NOT met'}); ${signed(cost('auth on, no cache'))} % verifying every request; throughput on/off ${(med('auth on', 'rps') / med('auth off', 'rps')).toFixed(2)}, p99 on/off ${(med('auth on', 'p99') / med('auth off', 'p99')).toFixed(2)}; failures ${runs.reduce((n, r) => n + r.failures, 0)}; load average ${bench.loadAverage()}`,
  );
}
