/**
 * What `docker build -f docker/Dockerfile` does, without a Docker engine: copies the build context the way
 * .dockerignore filters it, runs the deps stage's `npm ci --omit=dev --ignore-scripts`, then starts a component
 * the way the image's ENTRYPOINT/CMD do (`node --import tsx docker/entry.mjs` with APP_ENTRY) and waits for its
 * HEALTHCHECK URL. Proves the image's file set and production dependencies are enough to run it; the base
 * images themselves are not exercised (no engine here).
 *
 * Run: npm run docker:simulate   (the proxy: the one component that starts without PostgreSQL and Kafka;
 * its admin port is TEST_STACK_PORT_BASE + 1, default 31001, so it never meets a developer's stack)
 */
import { spawn, execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ignore from '@balena/dockerignore';
import { REPO_ROOT } from '../paths';

interface Component {
  image: string;
  entry: string;
  healthUrl: string;
}

/** Relative paths of the build context after .dockerignore (files and symlinks). */
export function buildContext(root = REPO_ROOT): string[] {
  const ig = ignore().add(readFileSync(path.join(root, '.dockerignore'), 'utf8'));
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(root, rel))) {
      const child = rel ? `${rel}/${name}` : name;
      const st = statSync(path.join(root, child), { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) {
        if (name !== 'node_modules' && name !== '.git') walk(child);
      } else if (!ig.ignores(child)) out.push(child);
    }
  };
  walk('');
  return out;
}

async function main(): Promise<void> {
  const name = 'proxy';
  const adminPort = Number(process.env.TEST_STACK_PORT_BASE ?? 31000) + 1;
  const components = JSON.parse(readFileSync(path.join(REPO_ROOT, 'docker', 'components.json'), 'utf8')) as Record<
    string,
    Component
  >;
  const component = components[name]!;
  const healthUrl = component.healthUrl.replace(':8001/', `:${adminPort}/`);
  const started = Date.now();
  const app = mkdtempSync(path.join(os.tmpdir(), 'image-'));
  try {
    const files = buildContext();
    for (const f of files) cpSync(path.join(REPO_ROOT, f), path.join(app, f), { dereference: false });
    console.log(`context: ${files.length} files`);
    execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: app,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (!existsSync(path.join(app, 'node_modules', 'tsx', 'package.json')))
      throw new Error('tsx missing after npm ci --omit=dev');
    console.log(`npm ci --omit=dev: ${Math.round((Date.now() - started) / 1000)} s`);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      APP_ENTRY: component.entry,
      PROXY_ADMIN_TOKEN: 'simulated-image-admin-token',
      PROXY_PORT: '0',
      PROXY_ADMIN_PORT: String(adminPort),
      PROXY_STATE_DIR: path.join(app, '.state-proxy'),
      LOG_LEVEL: 'warn',
    };
    const child = spawn(process.execPath, ['--import', 'tsx', 'docker/entry.mjs'], { cwd: app, env, stdio: 'inherit' });
    try {
      const deadline = Date.now() + 30_000;
      let ok = false;
      while (!ok && Date.now() < deadline && child.exitCode === null) {
        ok = await fetch(healthUrl, { signal: AbortSignal.timeout(1000) }).then(
          (r) => r.ok,
          () => false,
        );
        if (!ok) await new Promise((r) => setTimeout(r, 300));
      }
      if (!ok) throw new Error(`${name}: ${healthUrl} did not answer 2xx within 30 s (exit ${child.exitCode})`);
      console.log(`${name}: healthy at ${healthUrl} after ${Math.round((Date.now() - started) / 1000)} s`);
    } finally {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
    }
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
