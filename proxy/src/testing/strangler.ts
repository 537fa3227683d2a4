import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, type Logger } from '@warmhouse/shared';
import { stringify } from 'yaml';
import { loadProxyConfig } from '../config';
import { startStrangler, type RunningStrangler } from '../server';

export interface StranglerFixtureOptions {
  /** Names the temp dir and the logger. */
  name: string;
  /** The admin API token (16 characters at least). */
  token: string;
  /** The route table, written as the routes file; without it the proxy reads the default proxy/routes.yaml. */
  routes?: unknown;
  /** More env, over the defaults: proxy settings and the values of `${VAR}` placeholders in upstream URLs. */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

/** A temp dir holding the routes file and the proxy's state, to start the full proxy (`startStrangler`) on. */
export interface StranglerFixture {
  readonly dir: string;
  /** `undefined` without `routes`: the default proxy/routes.yaml. */
  readonly routesFile: string | undefined;
  /** The env the proxy starts with: loopback, free ports, no file watch, the token, the state dir and `env`. */
  readonly env: NodeJS.ProcessEnv;
  /** Starts a proxy; a later start (after a stop) finds the state the earlier one persisted. `extra` overrides env. */
  start(extra?: NodeJS.ProcessEnv): Promise<RunningStrangler>;
  /** Deletes the temp dir. */
  remove(): void;
}

export function createStranglerFixture(options: StranglerFixtureOptions): StranglerFixture {
  const dir = mkdtempSync(path.join(tmpdir(), `strangler-${options.name}-`));
  let routesFile: string | undefined;
  if (options.routes !== undefined) {
    routesFile = path.join(dir, 'routes.yaml');
    writeFileSync(routesFile, stringify(options.routes));
  }
  const env: NodeJS.ProcessEnv = {
    PROXY_HOST: '127.0.0.1',
    PROXY_PORT: '0',
    PROXY_ADMIN_PORT: '0',
    PROXY_ADMIN_TOKEN: options.token,
    ...(routesFile === undefined ? {} : { PROXY_ROUTES_FILE: routesFile }),
    PROXY_STATE_DIR: path.join(dir, 'state'),
    PROXY_WATCH_ROUTES_FILE: 'false',
    LOG_LEVEL: 'silent',
    ...options.env,
  };
  const logger = options.logger ?? createLogger(`${options.name}-test`, process.env.TEST_LOG_LEVEL ?? 'silent');
  return {
    dir,
    routesFile,
    env,
    start: (extra = {}) => {
      const withExtra = { ...env, ...extra };
      return startStrangler(loadProxyConfig(withExtra), logger, withExtra);
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A started proxy whose `stop()` also deletes its temp dir. */
export type TestStrangler = RunningStrangler & { readonly fixture: StranglerFixture };

/** Writes the routes file to a fresh temp dir and starts the proxy on it. */
export async function startTestStrangler(options: StranglerFixtureOptions): Promise<TestStrangler> {
  const fixture = createStranglerFixture(options);
  let strangler: RunningStrangler;
  try {
    strangler = await fixture.start();
  } catch (err) {
    fixture.remove();
    throw err;
  }
  return {
    ...strangler,
    fixture,
    async stop() {
      await strangler.stop();
      fixture.remove();
    },
  };
}
