/**
 * npm run images:build — every component image of the repository, built with podman from the repository's own
 * Dockerfiles on bases made on this machine (scripts/images/bases.ts), then their sizes and users printed.
 * Installs podman, runc and mmdebstrap from Debian when missing. Images: localhost/<image>:local.
 * Heavy steps run under `nice` (the machine is shared). Exit 1 names the step that failed and the end of its log.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureBaseImages } from './bases';
import { stageConnectContext, CONNECT_DOCKER_DIR } from './connect-context';
import { localImage, mebibytes, readImageSpecs, runsAsRoot, type ImageSpec } from './components';
import { ensureEngineInstalled, podmanWith, type Podman } from './podman';
import { IMAGE_CACHE, REPO_ROOT } from '../stack/layout';

const log = (line: string) => process.stdout.write(`[images] ${line}\n`);
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(0)} s`;

function gitVersion(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'dev';
  }
}

/** `podman build` with its output in a log file; a failure ends in an error carrying the log's last lines. */
function build(
  podman: Podman,
  opts: { name: string; dockerfile: string; context: string; args: Record<string, string>; tag: string },
): void {
  const logFile = path.join(IMAGE_CACHE, 'logs', `build-${opts.name}.txt`);
  mkdirSync(path.dirname(logFile), { recursive: true });
  const args = [
    'build',
    '--format=docker', // keeps HEALTHCHECK (the OCI format has none)
    '--network=host',
    // podman 4.3's builder (buildah 1.28) reuses a cached layer whatever the build arguments: with --layers every
    // component image came out as the first one built (the proxy's APP_ENTRY). Whole builds, then; the npm cache
    // mount (RUN --mount=type=cache) still saves the downloads.
    '--layers=false',
    '--file',
    opts.dockerfile,
    ...Object.entries(opts.args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
    '--tag',
    opts.tag,
    opts.context,
  ];
  try {
    const out = execFileSync('nice', ['podman', ...args], {
      env: podman.env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 256 * 1024 * 1024,
    });
    writeFileSync(logFile, out);
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    writeFileSync(logFile, `${e.stdout ?? ''}\n${e.stderr ?? ''}`);
    const tail = `${e.stdout ?? ''}\n${e.stderr ?? ''}`.trim().split('\n').slice(-25).join('\n');
    throw new Error(`podman build of ${opts.name} failed (${logFile}):\n${tail}`);
  }
}

type Bases = ReturnType<typeof ensureBaseImages> | undefined;

/** The base image build arguments: the local bases, or none (the Dockerfiles' public defaults). */
export function baseArgs(spec: ImageSpec, bases: Bases): Record<string, string> {
  if (!bases) return {};
  return spec.kind === 'node'
    ? { BUILD_BASE: bases['node-build'], RUNTIME_BASE: bases['node-runtime'] }
    : { JRE_BASE: bases.jre };
}

function buildImage(podman: Podman, spec: ImageSpec, bases: Bases, version: string): void {
  if (spec.kind === 'node') {
    build(podman, {
      name: spec.component,
      dockerfile: path.join(REPO_ROOT, 'docker', 'Dockerfile'),
      context: REPO_ROOT,
      args: {
        ...baseArgs(spec, bases),
        ENTRY: spec.entry,
        HEALTH_URL: spec.healthUrl,
        COMPONENT: spec.component,
        VERSION: version,
      },
      tag: localImage(spec),
    });
    return;
  }
  const context = path.join(IMAGE_CACHE, 'connect-context');
  const staged = stageConnectContext(context, log);
  log(`connect: staged ${staged.libs} worker jars and ${staged.plugin} Debezium plugin jars`);
  build(podman, {
    name: spec.component,
    dockerfile: path.join(CONNECT_DOCKER_DIR, 'Dockerfile'),
    context,
    args: baseArgs(spec, bases),
    tag: localImage(spec),
  });
}

/** The component an image starts: its APP_ENTRY must be the component's own entry point. */
function assertEntry(podman: Podman, spec: ImageSpec): void {
  if (spec.kind !== 'node') return;
  const env = podman(['image', 'inspect', '--format', '{{json .Config.Env}}', localImage(spec)]);
  const entry = (JSON.parse(env) as string[]).find((e) => e.startsWith('APP_ENTRY='))?.slice('APP_ENTRY='.length);
  if (entry !== spec.entry) throw new Error(`${localImage(spec)} starts ${entry}, not ${spec.entry}`);
}

/** The size and user of each image, and a check that its runtime starts at all (node or java prints its version). */
function describe(podman: Podman, spec: ImageSpec): { size: number; user: string; runtime: string } {
  const [size, user] = podman(['image', 'inspect', '--format', '{{.Size}}|{{.Config.User}}', localImage(spec)]).split(
    '|',
  );
  // node prints its version; `java --version` (two dashes) prints to standard output, unlike `-version`
  const runtime =
    spec.kind === 'node'
      ? podman(['run', '--rm', '--network=none', localImage(spec), '--version'])
      : podman(['run', '--rm', '--network=none', '--entrypoint', 'java', localImage(spec), '--version']);
  return { size: Number(size), user: user ?? '', runtime: runtime.split('\n')[0]! };
}

export async function buildImages(): Promise<{ images: Array<{ name: string; size: number; user: string }> }> {
  const started = Date.now();
  ensureEngineInstalled(log);
  const podman = podmanWith(IMAGE_CACHE);
  log(`podman ${podman(['--version']).replace(/^podman version /, '')}, state in ${IMAGE_CACHE}`);
  // WARMHOUSE_IMAGE_BASES=public: the Dockerfiles' public bases, pulled (where a registry is reachable: GitHub)
  const bases =
    process.env.WARMHOUSE_IMAGE_BASES === 'public'
      ? undefined
      : ensureBaseImages(podman, path.join(IMAGE_CACHE, 'bases'), log);
  log(`bases ${bases ? 'ready' : 'public (pulled by the builds)'} after ${seconds(started)}`);
  const version = gitVersion();
  const specs = readImageSpecs(REPO_ROOT);
  for (const spec of specs) {
    const t = Date.now();
    buildImage(podman, spec, bases, version);
    assertEntry(podman, spec);
    log(`built ${localImage(spec)} in ${seconds(t)}`);
  }
  const rows = specs.map((spec) => ({ name: localImage(spec), ...describe(podman, spec) }));
  const rootOnes = rows.filter((r) => runsAsRoot(r.user)).map((r) => r.name);
  log('image                                              size        user         runtime');
  for (const r of rows)
    log(`${r.name.padEnd(50)} ${mebibytes(r.size).padStart(10)}  ${r.user.padEnd(12)} ${r.runtime}`);
  if (rootOnes.length > 0) throw new Error(`images that run as root: ${rootOnes.join(', ')}`);
  log(`done in ${seconds(started)}`);
  return { images: rows };
}

if (require.main === module) {
  buildImages().catch((err: unknown) => {
    process.stderr.write(`[images] ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
