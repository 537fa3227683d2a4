import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { waitFor } from '@warmhouse/shared';
import { stringify } from 'yaml';
import { startProcess, tail, type ManagedProcess } from '../../../cdc/src/runtime/processes';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** A proxy started as its own process, with the URLs it logged when it began listening. */
export interface ProxyProcess {
  readonly name: string;
  readonly process: ManagedProcess;
  readonly proxyUrl: string;
  readonly adminUrl: string;
}

/** Starts `proxy/src/main.ts` as a child process (free ports) and waits for its "listening" log line. */
export async function startProxyProcess(options: {
  name: string;
  dir: string;
  env: Record<string, string>;
}): Promise<ProxyProcess> {
  const logFile = path.join(options.dir, `${options.name}.log`);
  const proc = startProcess({
    name: options.name,
    command: process.execPath,
    args: ['--import', 'tsx', path.join(REPO_ROOT, 'proxy', 'src', 'main.ts')],
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PROXY_HOST: '127.0.0.1',
      PROXY_PORT: '0',
      PROXY_ADMIN_PORT: '0',
      PROXY_STATE_DIR: path.join(options.dir, `${options.name}-state`),
      LOG_LEVEL: 'info',
      ...options.env,
    },
    logFile,
  });
  const exited = proc.exited.then((code) => {
    throw new Error(`${options.name} exited with ${code}:\n${tail(logFile, 80)}`);
  });
  const urls = await Promise.race([
    waitFor(`${options.name} listening`, () => listeningUrls(logFile), { timeoutMs: 60_000, intervalMs: 100 }),
    exited,
  ]).catch(async (err: Error) => {
    await proc.stop(2_000);
    throw err;
  });
  // a later exit is the test's business; one before the test stopped it is shown with its log
  exited.catch((err: Error) => {
    if (!stopping) process.stderr.write(`${err.message}\n`);
  });
  let stopping = false;
  const stop = proc.stop.bind(proc);
  return {
    name: options.name,
    process: { ...proc, stop: (graceMs?: number) => ((stopping = true), stop(graceMs)) },
    ...urls,
  };
}

function listeningUrls(logFile: string): { proxyUrl: string; adminUrl: string } | undefined {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    if (!line.includes('"event":"listening"')) continue;
    const entry = JSON.parse(line) as { proxyUrl: string; adminUrl: string };
    return { proxyUrl: entry.proxyUrl, adminUrl: entry.adminUrl };
  }
  return undefined;
}

/**
 * Writes `routes.yaml` into `dir` for a fleet test: upstreams `monolith` and `device-management` (their URLs from
 * MONOLITH_URL and DEVICE_MANAGEMENT_URL), default target the monolith, and `routes`. Returns its path.
 */
export function writeFleetRoutes(dir: string, routes: readonly unknown[]): string {
  const file = path.join(dir, 'routes.yaml');
  writeFileSync(
    file,
    stringify({
      defaultTarget: 'monolith',
      upstreams: [
        { name: 'monolith', url: '${MONOLITH_URL}' },
        { name: 'device-management', url: '${DEVICE_MANAGEMENT_URL}' },
      ],
      routes,
    }),
  );
  return file;
}

/**
 * Route heating-get (GET /api/heating/:id) on the monolith with a plan to device management: shadow until 30
 * equal comparisons, then a canary at 10, 50 and 100 % (keys from `x-house-id`), 2 s dwell, gates on 15 requests.
 */
export const HEATING_GET_PLAN_ROUTE = {
  id: 'heating-get',
  methods: ['GET'],
  path: '/api/heating/:id',
  target: 'monolith',
  canary: { key: { header: 'x-house-id' } },
  plan: {
    service: 'device-management',
    shadow: { minComparisons: 30, minEqualRate: 1 },
    canary: [10, 50, 100],
    dwellSeconds: 2,
    gates: { minRequests: 15, maxErrorRateIncrease: 0.05, maxP99IncreasePercent: 400, p99SlackMs: 250 },
  },
};

/** Env of a fleet whose plans run fast: store polled and heartbeats every 0.5 s, plan ticks and evidence every 0.2 s. */
export const FAST_PLAN_FLEET_ENV = {
  PROXY_WATCH_ROUTES_FILE: 'false',
  PROXY_CONTROL_POLL_MS: '500',
  PROXY_FLEET_HEARTBEAT_MS: '500',
  PROXY_PLAN_TICK_MS: '200',
  PROXY_PLAN_LEASE_MS: '2000',
  PROXY_EVIDENCE_PUBLISH_MS: '200',
} as const;

/** An upstream answering every request with its own name as JSON (and `X-Upstream`). */
export async function startNamedUpstream(name: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ upstream: name, path: req.url });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/**
 * A TCP relay the test controls, standing between the proxies and PostgreSQL: `cut()` closes every connection
 * and refuses new ones (the store is unreachable), `restore()` lets connections through again on the same port.
 */
export class TcpRelay {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(port = 0): Promise<number> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  /** Closes the listener and every relayed connection. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async restore(): Promise<void> {
    await this.start(this.port);
  }
}

/** Percentile (nearest rank) of a list of numbers. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
