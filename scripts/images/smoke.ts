/**
 * npm run images:smoke — the images of `npm run images:build`, run as containers (podman, host networking)
 * against a test stack's PostgreSQL and Kafka (started as the integration tests start theirs, on
 * TEST_STACK_PORT_BASE, default 27000): Kafka Connect with Debezium takes over the stack's connector, the migrations
 * Jobs migrate the services' databases, then the stand-in, device management, telemetry, the proxy and the CDC
 * monitor start and are polled until ready. Then: the monolith contract through the containerised proxy, a route
 * flipped through its admin API, and a write through the proxy that reaches the monolith's database and comes back
 * to device management through CDC. Everything it started is stopped and removed by id (containers) or pid (stack).
 * Prints the time of each step and the load average. Exit 1 names the step that failed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { databaseUrl, ensureDatabase, waitFor } from '@warmhouse/shared';
import { waitForConnectorRunning } from '../../cdc/src';
import { workerProperties } from '../../cdc/src/runtime/connect';
import { seedIfEmpty } from '../../monolith-standin/src/seed';
import { startBackbone, type Backbone } from '../stack/backbone';
import { IMAGE_CACHE, REPO_ROOT, STATE_ROOT, portsFor } from '../stack/layout';
import { podmanWith, type Podman } from './podman';
import {
  connectContainer,
  migrationJobs,
  runArgs,
  serviceContainers,
  type ContainerSpec,
  type SmokeEndpoints,
} from './smoke-plan';

const log = (line: string) => process.stdout.write(`[images:smoke] ${line}\n`);
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** An error's message with its cause's (fetch says only "fetch failed"; the cause says ECONNREFUSED). */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause as { code?: string; message?: string } | undefined;
  return cause?.message ? `${err.message} (${cause.code ?? cause.message})` : err.message;
}

/** Steps and their durations, printed at the end. */
class Timings {
  readonly rows: Array<[string, number]> = [];
  async step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t = Date.now();
    log(`${name} ...`);
    try {
      return await fn();
    } catch (err) {
      throw new Error(`${name}: ${describeError(err)}`, { cause: err });
    } finally {
      this.rows.push([name, (Date.now() - t) / 1000]);
    }
  }
}

/** The containers of one smoke run, removed by id however the run ends. */
class Containers {
  private readonly ids: Array<{ name: string; id: string }> = [];
  constructor(
    private readonly podman: Podman,
    readonly namePrefix: string,
    readonly label: string,
  ) {}

  /** Leftovers of a crashed run with the same label, removed by their ids. */
  removeLeftovers(): void {
    const ids = this.podman(['ps', '--all', '--quiet', '--filter', `label=${this.label}`])
      .split('\n')
      .filter(Boolean);
    if (ids.length === 0) return;
    log(`removing ${ids.length} leftover container(s) of an earlier run: ${ids.join(' ')}`);
    this.podman(['rm', '--force', '--time=5', ...ids]);
  }

  start(spec: ContainerSpec): string {
    const id = this.podman(runArgs(spec, { namePrefix: this.namePrefix, label: this.label }));
    this.ids.push({ name: spec.name, id });
    return id;
  }

  state(id: string): string {
    return this.podman(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', id]);
  }

  logs(id: string, lines = 30): string {
    return spawnSync('podman', ['logs', '--tail', String(lines), id], { env: this.podman.env, encoding: 'utf8' })
      .output.filter(Boolean)
      .join('');
  }

  /** A one-shot container (a Job): started, waited for, its exit code checked, removed. */
  async runToCompletion(spec: ContainerSpec, timeoutMs = 120_000): Promise<void> {
    const id = this.start(spec);
    const [status, code] = (
      await waitFor(
        `${spec.name} to finish`,
        () => {
          const s = this.state(id);
          return s.startsWith('exited') || s.startsWith('stopped') ? s : undefined;
        },
        { timeoutMs, intervalMs: 250 },
      )
    ).split(' ');
    if (code !== '0') throw new Error(`${spec.name} ${status} with code ${code}:\n${this.logs(id)}`);
    this.remove(id);
  }

  /** Polls `url` until it answers 2xx; fails early with the container's log when the container stops. */
  async untilReady(id: string, name: string, url: string, timeoutMs = 120_000): Promise<void> {
    await waitFor(
      `${name} at ${url}`,
      async () => {
        const s = this.state(id);
        if (!s.startsWith('running')) throw new StoppedError(`${name} is ${s}:\n${this.logs(id)}`);
        const res = await fetch(url, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
        return res?.ok ? true : undefined;
      },
      { timeoutMs, intervalMs: 500 },
    ).catch((err: Error) => {
      throw err.cause instanceof StoppedError ? err.cause : new Error(`${err.message}\n${this.logs(id)}`);
    });
  }

  remove(id: string): void {
    this.podman(['rm', '--force', '--time=10', id]);
    const i = this.ids.findIndex((c) => c.id === id);
    if (i >= 0) this.ids.splice(i, 1);
  }

  /** Every container still here, newest first; their logs kept in `logDir` first. */
  removeAll(logDir: string): void {
    mkdirSync(logDir, { recursive: true });
    for (const { name, id } of [...this.ids].reverse()) {
      try {
        writeFileSync(path.join(logDir, `${name}.txt`), this.logs(id, 500));
        this.remove(id);
      } catch (err) {
        log(`could not remove ${name} (${id}): ${String(err)}`);
      }
    }
  }
}

class StoppedError extends Error {}

async function json(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> | undefined }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

export async function smokeImages(): Promise<void> {
  const started = Date.now();
  log(`load average before: ${load()}`);
  const portBase = Number(process.env.TEST_STACK_PORT_BASE ?? 27000);
  const ports = portsFor(portBase);
  const stateDir = path.join(STATE_ROOT, `images-smoke-${portBase}`);
  const podman = podmanWith(IMAGE_CACHE);
  const containers = new Containers(podman, `warm-house-smoke-${portBase}`, `house.warm.smoke=${portBase}`);
  containers.removeLeftovers();
  const timings = new Timings();
  let backbone: Backbone | undefined;
  try {
    backbone = await timings.step("test stack: PostgreSQL, Kafka (and the stack's own Connect, replaced below)", () =>
      startBackbone({
        stateDir,
        portBase,
        fresh: true,
        log,
        kafkaNodes: 1,
        portHint: 'choose another port base (TEST_STACK_PORT_BASE)',
        extraPorts: {
          proxy: ports.proxy,
          'proxy admin': ports.proxyAdmin,
          'CDC monitor': ports.cdcMonitor,
          'monolith stand-in': ports.monolith,
          'device management': ports.deviceManagement,
          telemetry: ports.telemetry,
        },
        afterMigrations: async (url) => {
          const pool = new Pool({ connectionString: url });
          await seedIfEmpty(pool).finally(() => pool.end());
        },
      }),
    );
    const bb = backbone;
    mkdirSync(stateDir, { recursive: true });

    await timings.step('Connect container takes over the connector (same group, topics and slot)', async () => {
      await bb.registry.stop('connect'); // the stack's own worker, by its pid
      const props = path.join(stateDir, 'connect-container.properties');
      writeFileSync(
        props,
        workerProperties({
          bootstrap: bb.kafka.bootstrap,
          port: ports.connect,
          pluginPath: '/opt/kafka/plugins',
          groupId: 'warmhouse-connect',
          replication: 1,
        }),
      );
      const id = containers.start(connectContainer(props));
      await containers.untilReady(id, 'connect', `${bb.connect.url}/connectors`, 180_000);
      await waitForConnectorRunning(bb.connect.url, bb.connectorName, { timeoutMs: 180_000 });
    });

    const superuser = bb.postgres.superuserUrl;
    const role = (user: string, password: string) => ({ user, password });
    const roles = {
      deviceManagement: role('device_management', 'device-management-dev'),
      telemetry: role('telemetry', 'telemetry-dev'),
      control: role('strangler', 'strangler-dev'),
    };
    const endpoints: SmokeEndpoints = {
      ports,
      kafkaBootstrap: bb.kafka.bootstrap,
      connectUrl: bb.connect.url,
      monolithUrl: bb.monolithUrl,
      monolithSuperuserUrl: bb.monolithSuperuserUrl,
      databases: {
        deviceManagement: databaseUrl(superuser, 'device_management', roles.deviceManagement),
        telemetry: databaseUrl(superuser, 'telemetry', roles.telemetry),
        control: databaseUrl(superuser, 'strangler', roles.control),
      },
      adminToken: 'images-smoke-admin-token-0123456789',
    };

    await timings.step('migrations Jobs (node-pg-migrate in each service image)', async () => {
      await ensureDatabase(superuser, 'device_management', roles.deviceManagement);
      await ensureDatabase(superuser, 'telemetry', roles.telemetry);
      await ensureDatabase(superuser, 'strangler', roles.control);
      for (const job of migrationJobs(endpoints)) await containers.runToCompletion(job);
    });

    await timings.step('services ready (stand-in, device management, telemetry, proxy, CDC monitor)', async () => {
      for (const spec of serviceContainers(endpoints)) {
        const id = containers.start(spec);
        await containers.untilReady(id, spec.name, spec.readyUrl!);
        log(`${spec.name} ready (${id.slice(0, 12)})`);
      }
    });

    const proxyUrl = `http://127.0.0.1:${ports.proxy}`;
    await timings.step('monolith contract through the containerised proxy', async () => {
      const run = spawnSync('npx', ['jest', '--selectProjects', 'contract', '--runInBand', '--testTimeout=60000'], {
        cwd: REPO_ROOT,
        env: { ...process.env, CONTRACT_BASE_URL: proxyUrl },
        stdio: 'inherit',
      });
      if (run.status !== 0) throw new Error(`the contract suite failed (exit ${run.status})`);
    });

    const admin = `http://127.0.0.1:${ports.proxyAdmin}`;
    const auth = { authorization: `Bearer ${endpoints.adminToken}`, 'content-type': 'application/json' };
    await timings.step('route heating-get flipped to device management through the admin API', async () => {
      const put = await json(`${admin}/api/routes/heating-get/target`, {
        method: 'PUT',
        headers: auth,
        body: JSON.stringify({ target: 'device-management', reason: 'images smoke' }),
      });
      if (put.status !== 200) throw new Error(`PUT target answered ${put.status}: ${JSON.stringify(put.body)}`);
      const served = await waitFor('GET /api/heating/1 through the proxy served by device management', async () => {
        const res = await json(`${proxyUrl}/api/heating/1`);
        return res.status === 200 && res.headers.get('x-strangler-upstream') === 'device-management' ? res : undefined;
      });
      log(`GET /api/heating/1 → ${served.status} from ${served.headers.get('x-strangler-upstream')}`);
    });

    await timings.step(
      'a write through the proxy reaches the monolith database and comes back through CDC',
      async () => {
        const temperature = 20 + Math.round(Math.random() * 80) / 10 + 0.25;
        const post = await fetch(`${proxyUrl}/api/heating/1/set-temperature?temperature=${temperature}`, {
          method: 'POST',
          signal: AbortSignal.timeout(10_000),
        });
        if (post.status !== 204) throw new Error(`set-temperature answered ${post.status}: ${await post.text()}`);
        if (post.headers.get('x-strangler-upstream') !== 'monolith')
          throw new Error(`set-temperature went to ${post.headers.get('x-strangler-upstream')}, not the monolith`);
        const pool = new Pool({ connectionString: bb.monolithUrl });
        try {
          const { rows } = await pool.query<{ t: string }>(
            'SELECT target_temperature::text AS t FROM heating_systems WHERE id = 1',
          );
          if (Number(rows[0]?.t) !== temperature)
            throw new Error(`smart_home has target_temperature ${rows[0]?.t}, not ${temperature}`);
        } finally {
          await pool.end();
        }
        const written = Date.now();
        await waitFor(
          `device management's copy of heating system 1 at ${temperature}`,
          async () => {
            const res = await json(`http://127.0.0.1:${ports.deviceManagement}/api/heating/1`);
            return res.body?.targetTemperature === temperature ? true : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 100 },
        );
        log(
          `targetTemperature ${temperature}: in smart_home, then in device management after ${Date.now() - written} ms (CDC)`,
        );
        const viaProxy = await waitFor('the new value through the proxy, from device management', async () => {
          const res = await json(`${proxyUrl}/api/heating/1`);
          return res.body?.targetTemperature === temperature ? res : undefined;
        });
        log(
          `GET /api/heating/1 through the proxy → ${viaProxy.body?.targetTemperature} from ${viaProxy.headers.get('x-strangler-upstream')}`,
        );
      },
    );
  } finally {
    await timings
      .step('teardown: containers by id, the stack by pid', async () => {
        if (backbone) {
          await fetch(`${backbone.connect.url}/connectors/${backbone.connectorName}`, { method: 'DELETE' }).catch(
            () => undefined,
          );
        }
        containers.removeAll(path.join(stateDir, 'containers'));
        containers.removeLeftovers();
        await backbone?.stop({ dropReplicationSlot: true });
      })
      .catch((err: unknown) => log(String(err)));
    for (const [name, s] of timings.rows) log(`${s.toFixed(1).padStart(6)} s  ${name}`);
    log(`total ${((Date.now() - started) / 1000).toFixed(1)} s, load average after: ${load()}`);
  }
}

if (require.main === module) {
  smokeImages().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`[images:smoke] FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
