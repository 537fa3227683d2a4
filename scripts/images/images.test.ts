import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BASE_RECIPES, baseImage, baseKey, nonrootAccounts, type BaseRecipe } from './bases';
import { imageSpecs, localImage, mebibytes, readImageSpecs, runsAsRoot } from './components';
import { classpathJars } from './connect-context';
import { CONTAINERS_CONF } from './podman';
import { connectContainer, migrationJobs, runArgs, serviceContainers, type SmokeEndpoints } from './smoke-plan';
import { portsFor, REPO_ROOT } from '../stack/layout';

describe('images to build', () => {
  it('every component of docker/components.json, the CDC monitor and Connect, named as the workflows name them', () => {
    const specs = readImageSpecs(REPO_ROOT);
    expect(specs.map((s) => s.component)).toEqual([
      'proxy',
      'device-management',
      'telemetry',
      'monolith-standin',
      'cdc-monitor',
      'connect',
    ]);
    expect(specs.map(localImage)).toContain('localhost/warm-house-proxy:local');
    expect(imageSpecs('{"$comment":"x"}').map((s) => s.component)).toEqual(['cdc-monitor', 'connect']);
  });

  it.each([
    ['', true],
    ['root', true],
    ['0', true],
    ['0:0', true],
    ['65532:65532', false],
    ['nonroot', false],
  ])('user %j runs as root: %s', (user, root) => {
    expect(runsAsRoot(user)).toBe(root);
  });

  it('prints sizes in MiB', () => {
    expect(mebibytes(123_456_789)).toBe('117.7 MiB');
  });

  it('stages the worker classpath jars only', () => {
    expect(classpathJars(['/m2/a.jar', '', '/m2/classes', '/m2/b.jar'].join(path.delimiter))).toEqual([
      '/m2/a.jar',
      '/m2/b.jar',
    ]);
  });
});

describe('base images', () => {
  it('one recipe per base argument of the Dockerfiles, each tagged by its content hash', () => {
    expect(BASE_RECIPES.map((r) => r.name)).toEqual(['node-build', 'node-runtime', 'jre']);
    const dockerfile = readFileSync(path.join(REPO_ROOT, 'docker', 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ARG BUILD_BASE=node:\$\{NODE_VERSION\}-bookworm-slim$/m);
    expect(dockerfile).toMatch(/^ARG RUNTIME_BASE=gcr\.io\/distroless\/nodejs\$\{NODE_VERSION\}-debian12:nonroot$/m);
    expect(readFileSync(path.join(REPO_ROOT, 'docker', 'connect', 'Dockerfile'), 'utf8')).toMatch(
      /^ARG JRE_BASE=eclipse-temurin:17-jre$/m,
    );
    for (const r of BASE_RECIPES) expect(baseImage(r)).toBe(`localhost/warm-house-base/${r.name}:${baseKey(r)}`);
  });

  it('the hash changes with the recipe and only with it', () => {
    const recipe = BASE_RECIPES[0]!;
    const same: BaseRecipe = JSON.parse(JSON.stringify(recipe));
    expect(baseKey(same)).toBe(baseKey(recipe));
    expect(baseKey({ ...recipe, debian: { ...recipe.debian, include: ['curl'] } })).not.toBe(baseKey(recipe));
    expect(new Set(BASE_RECIPES.map((r) => baseKey(r))).size).toBe(BASE_RECIPES.length);
    // the machine's CAs count only for the base that takes them (the build stage's npm)
    const byName = (n: string) => BASE_RECIPES.find((r) => r.name === n)!;
    expect(baseKey(byName('node-build'), 'aa')).not.toBe(baseKey(byName('node-build'), 'bb'));
    expect(baseKey(byName('node-runtime'), 'aa')).toBe(baseKey(byName('node-runtime'), 'bb'));
  });

  it('the Node.js run-time base has no shell and runs as 65532, as distroless nonroot', () => {
    const runtime = BASE_RECIPES.find((r) => r.name === 'node-runtime')!;
    expect(runtime.debian.variant).toBe('extract');
    expect(runtime.debian.include).not.toEqual(expect.arrayContaining(['bash', 'dash', 'busybox']));
    expect(runtime.node).toEqual({ prefix: '/nodejs', npm: false });
    expect(runtime.changes).toContain('USER 65532:65532');
    expect(nonrootAccounts().passwd).toBe('nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n');
  });

  it("the engine's configuration: runc, cgroupfs, no default ulimits", () => {
    expect(CONTAINERS_CONF).toMatch(/^default_ulimits = \[\]$/m);
    expect(CONTAINERS_CONF).toMatch(/^runtime = "runc"$/m);
    expect(CONTAINERS_CONF).toMatch(/^cgroup_manager = "cgroupfs"$/m);
  });
});

describe('smoke plan', () => {
  const ports = portsFor(32000);
  const e: SmokeEndpoints = {
    ports,
    kafkaBootstrap: '127.0.0.1:32092',
    connectUrl: 'http://127.0.0.1:32083',
    monolithUrl: 'postgres://monolith:m@127.0.0.1:32432/smart_home',
    monolithSuperuserUrl: 'postgres://postgres@127.0.0.1:32432/smart_home',
    databases: { deviceManagement: 'postgres://dm', telemetry: 'postgres://tel', control: 'postgres://ctl' },
    adminToken: 'token-token-token-token',
  };

  it('starts every Node.js component on the stack ports, each polled on its own port', () => {
    const services = serviceContainers(e);
    expect(services.map((s) => s.name)).toEqual([
      'monolith-standin',
      'device-management',
      'telemetry',
      'proxy',
      'cdc-monitor',
    ]);
    const port = (url: string) => Number(new URL(url).port);
    expect(services.map((s) => port(s.readyUrl!))).toEqual([
      ports.monolith,
      ports.deviceManagement,
      ports.telemetry,
      ports.proxyAdmin,
      ports.cdcMonitor,
    ]);
    // the image's HEALTHCHECK asks the port the component listens on here, not the image default
    for (const s of services) expect(port(s.env.HEALTHCHECK_URL!)).toBe(port(s.readyUrl!));
    const proxy = services.find((s) => s.name === 'proxy')!;
    expect(proxy.env).toMatchObject({
      MONOLITH_URL: `http://127.0.0.1:${ports.monolith}`,
      DEVICE_MANAGEMENT_URL: `http://127.0.0.1:${ports.deviceManagement}`,
      PROXY_CONTROL_DATABASE_URL: 'postgres://ctl',
    });
  });

  it('migrates each service database with node-pg-migrate in its own image, as the chart Job does', () => {
    const jobs = migrationJobs(e);
    expect(jobs.map((j) => [j.image, j.args?.[3], j.env.DATABASE_URL])).toEqual([
      ['localhost/warm-house-proxy:local', 'migrations/proxy', 'postgres://ctl'],
      ['localhost/warm-house-device-management:local', 'migrations/device-management', 'postgres://dm'],
      ['localhost/warm-house-telemetry:local', 'migrations/telemetry', 'postgres://tel'],
    ]);
    const chartJob = readFileSync(path.join(REPO_ROOT, 'helm', 'warm-house', 'templates', '_migrations.tpl'), 'utf8');
    expect(chartJob).toContain('- node_modules/node-pg-migrate/bin/node-pg-migrate.js');
    expect(chartJob).toContain('- pgmigrations');
  });

  it('runs hardened on host networking, labelled, with the env and mounts of the spec', () => {
    const args = runArgs(connectContainer('/s/connect.properties'), { namePrefix: 'p', label: 'house.warm.smoke=1' });
    expect(args.slice(0, 10)).toEqual([
      'run',
      '--detach',
      '--network=host',
      '--read-only',
      '--tmpfs=/tmp',
      '--cap-drop=ALL',
      '--security-opt=no-new-privileges',
      '--name=p-connect',
      '--label=house.warm.smoke=1',
      '--env',
    ]);
    expect(args).toContain('/s/connect.properties:/opt/kafka/config/connect-distributed.properties:ro');
    expect(args.at(-1)).toBe('localhost/warm-house-connect:local');
    const job = runArgs(migrationJobs(e)[0]!, { namePrefix: 'p', label: 'l' });
    expect(job.slice(job.indexOf('localhost/warm-house-proxy:local'))).toEqual([
      'localhost/warm-house-proxy:local',
      'node_modules/node-pg-migrate/bin/node-pg-migrate.js',
      'up',
      '--migrations-dir',
      'migrations/proxy',
      '--migrations-table',
      'pgmigrations',
    ]);
  });
});
