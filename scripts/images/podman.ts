/**
 * The container engine of `npm run images:build` and `images:smoke`: Debian's podman with runc, configured by a
 * containers.conf of this project (CONTAINERS_CONF), never by the machine's /etc/containers. What these machines
 * need (docs/images.md): runc with the cgroupfs manager (crun fails on the hybrid cgroup layout), no default
 * `nofile` ulimit (refused here), events and logs in files (no journald).
 */
import { execFileSync, spawnSync, type StdioOptions } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const CONTAINERS_CONF = `# written by scripts/images/podman.ts
[containers]
default_ulimits = []
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
`;

/** Debian packages the image scripts use: the engine, its runtime, and mmdebstrap for the base images. */
export const ENGINE_PACKAGES = ['podman', 'runc', 'mmdebstrap'] as const;

const onPath = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

/** Installs the engine from Debian when missing (as .ci/run installs Chromium); a no-op when it is there. */
export function ensureEngineInstalled(log: (line: string) => void): void {
  const missing = ENGINE_PACKAGES.filter((p) => !onPath(p));
  if (missing.length === 0) return;
  log(`installing ${missing.join(', ')} from Debian`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env });
}

export interface Podman {
  /** Runs podman, returns its standard output (trimmed); a failure throws with podman's error output. */
  (args: string[], opts?: { stdio?: StdioOptions; input?: string }): string;
  readonly env: NodeJS.ProcessEnv;
}

/** A podman bound to this project's containers.conf (written into `confDir`). */
export function podmanWith(confDir: string): Podman {
  mkdirSync(confDir, { recursive: true });
  const conf = path.join(confDir, 'containers.conf');
  writeFileSync(conf, CONTAINERS_CONF);
  const env = { ...process.env, CONTAINERS_CONF: conf };
  const run = (args: string[], opts: { stdio?: StdioOptions; input?: string } = {}) => {
    const out = execFileSync('podman', args, {
      env,
      input: opts.input,
      stdio: opts.stdio ?? ['pipe', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
      encoding: 'utf8',
    });
    return (out ?? '').trim();
  };
  return Object.assign(run, { env });
}
