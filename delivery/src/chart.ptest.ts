import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConnectorConfigs } from '../../cdc/src/connectors/load';
import { PREFLIGHT_FLAGS } from '../../cdc/src/preflight/config';
import { compileTable } from '../../proxy/src/table/compile';
import { AuthSchema, RouteSchema, ShadowSchema } from '../../proxy/src/table/schema';
import { MONITORING_ON } from './helm/cases';
import { MIGRATIONS_ROOT, migrationArgs } from '../../packages/shared/src/migrate';
import { runHelm, type CaseResult, type HelmReport } from './helm/runner';
import {
  CDC_ALERTS_FILE,
  CHART_DIR,
  DASHBOARD_FILE,
  PROXY_ALERTS_FILE,
  REPO_ROOT,
  STRIMZI_SCHEMAS_DIR,
  VALUES_DIR,
} from './paths';
import { parseManifests, type Manifest } from './validate/manifests';

// Real Helm (helm-java) renders every case once, in one JVM; the tests read the rendered manifests.
const OUT = path.join(os.tmpdir(), `warm-house-chart-test-${process.pid}`);
const PROD = path.join(VALUES_DIR, 'production.yaml');
const MINIKUBE = path.join(VALUES_DIR, 'minikube.yaml');
const BAD: Record<string, Record<string, string | number | boolean>> = {
  'bad-mode': { 'routes.heatingGet.mode': 'sideways' },
  'bad-target': { 'routes.heatingGet.target': 'billing' },
  'bad-typo': { 'proxy.replica': 3 },
  'bad-root': { 'podSecurityContext.runAsNonRoot': false },
  'bad-limits': { 'proxy.resources.limits': 'null' },
  'bad-owner': { 'image.owner': 'Warm-House' },
  'bad-sha': { 'kafkaConnect.debezium.pluginSha512': 'abc' },
  'bad-replication': { 'kafka.replicationFactor': 4 },
  'bad-disabled-target': { 'telemetry.enabled': false, 'routes.heatingGet.target': 'telemetry' },
  'bad-cdc-source-url': { 'proxy.cdcSourceDatabase.url': 'mysql://reader@db/smart_home' },
  'bad-admin-audience': { 'proxy.oidc.adminAudience': 'urn:warm-house:strangler-admin' },
  'bad-roles-claim': { 'proxy.oidc.rolesClaim': 'roles claim' },
  'bad-cdc-source-plain-env': { 'proxy.env.PROXY_CDC_SOURCE_DATABASE_URL': 'postgres://reader:pw@db/smart_home' },
  'bad-control-none-replicas': {
    'proxy.controlDatabase.url': '',
    'proxy.replicas': 2,
    'proxy.autoscaling.enabled': false,
  },
  'bad-control-none-hpa': { 'proxy.controlDatabase.url': '', 'proxy.replicas': 1 },
  'bad-control-url': { 'proxy.controlDatabase.url': 'mysql://strangler@db/strangler' },
  'bad-control-plain-env': { 'proxy.env.PROXY_CONTROL_DATABASE_URL': 'postgres://strangler:pw@db/strangler' },
  'bad-workers-zero': { 'proxy.workers': 0 },
  'bad-workers-word': { 'proxy.workers': 'many' },
  'bad-workers-plain-env': { 'proxy.env.PROXY_WORKERS': 4 },
  'bad-workers-cpu-unit': { 'proxy.resources.limits.cpu': '1k' },
  'bad-monitoring-typo': { 'monitoring.serviceMonitor.enabled': true },
  'bad-monitoring-interval': { 'monitoring.serviceMonitors.interval': '30 seconds' },
  'bad-cdc-monitor-replicas': { 'cdcMonitor.replicas': 2 },
  'bad-monitor-oidc': { 'cdcMonitor.oidc.issuer': 'https://login.example/realm' },
  'bad-monitor-oidc-http': { 'cdcMonitor.oidc.issuer': 'http://login.example/realm' },
  'bad-cdc-hooks-no-login': { 'cdcSource.preflight.enabled': true },
  'bad-cdc-hooks-url': { 'cdcSource.teardown.enabled': true, 'cdcSource.ownerDatabaseUrl': 'mysql://o@db/smart_home' },
};
const OWNER_URL = 'postgres://monolith:0wner-pw@heating-db.legacy:5432/smart_home';
const DEBEZIUM_URL = 'postgres://debezium:dbz-pw@heating-db.legacy:5432/smart_home';
const CDC_SOURCE_URL = 'postgres://wal_reader:s3cret@heating-db.legacy:5432/smart_home';
const CONTROL_URL = 'postgres://strangler:c0ntr0l-pw@strangler-db.infra:5432/strangler';
const SINGLE_PROCESS = { 'proxy.controlDatabase.url': '', 'proxy.replicas': 1, 'proxy.autoscaling.enabled': false };
/** A values file, for what `--set` cannot express: a CPU limit as a YAML number (`--set` keeps 1.5 a string). */
const CPU_NUMBER_VALUES = path.join(OUT, 'values-cpu-number.yaml');

let report: HelmReport;
let demoPostgres: HelmReport;
const result = (name: string): CaseResult => {
  const r = report.cases.find((c) => c.name === name);
  if (!r) throw new Error(`no case ${name}`);
  return r;
};
const manifests = (name: string): Manifest[] => {
  const r = result(name);
  if (!r.ok) throw new Error(`${name} did not render: ${r.error}`);
  return parseManifests(readFileSync(r.file!, 'utf8'));
};
const find = (ms: Manifest[], kind: string, name: string): Manifest => {
  const m = ms.find((x) => x.kind === kind && x.metadata.name === name);
  if (!m) throw new Error(`no ${kind}/${name} among ${ms.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return m;
};
/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are plain parsed YAML */
const routesOf = (ms: Manifest[]) =>
  parse((find(ms, 'ConfigMap', 'warm-house-proxy-routes') as any).data['routes.yaml']);
const podSpecs = (ms: Manifest[]) =>
  ms
    .filter((m) => ['Deployment', 'StatefulSet', 'Job'].includes(m.kind))
    .map((m) => ({ id: `${m.kind}/${m.metadata.name}`, kind: m.kind, spec: (m as any).spec.template.spec }));

beforeAll(() => {
  mkdirSync(OUT, { recursive: true });
  writeFileSync(CPU_NUMBER_VALUES, 'proxy:\n  resources:\n    limits: { cpu: 1.5, memory: 256Mi }\n');
  report = runHelm({
    outDir: OUT,
    cases: [
      { name: 'default' },
      { name: 'production', valuesFiles: [PROD] },
      { name: 'minikube', valuesFiles: [MINIKUBE] },
      { name: 'route-to-service', set: { 'routes.heatingGet.target': 'device-management' } },
      { name: 'route-unavailable', set: { 'routes.heatingTurnOn.mode': 'unavailable' } },
      {
        name: 'route-with-plan',
        set: {
          'routes.heatingGet.plan.service': 'device-management',
          'routes.heatingGet.plan.dwellSeconds': 600,
          'routes.heatingGet.plan.gates.minRequests': 500,
        },
      },
      { name: 'cdc-source-url', set: { 'proxy.cdcSourceDatabase.url': CDC_SOURCE_URL } },
      {
        name: 'cdc-source-existing',
        set: {
          'proxy.cdcSourceDatabase.existingSecret': 'monolith-wal-reader',
          'proxy.cdcSourceDatabase.existingSecretKey': 'url',
        },
      },
      { name: 'control-url', set: { 'proxy.controlDatabase.url': CONTROL_URL } },
      {
        name: 'control-existing',
        set: {
          'proxy.controlDatabase.existingSecret': 'strangler-control',
          'proxy.controlDatabase.existingSecretKey': 'url',
        },
      },
      { name: 'control-migrations-off', set: { 'proxy.migrations.enabled': false } },
      { name: 'single-process', set: SINGLE_PROCESS },
      { name: 'workers-millicores', set: { 'proxy.resources.limits.cpu': '2500m' } },
      { name: 'workers-tiny', set: { 'proxy.resources.limits.cpu': '100m' } },
      { name: 'workers-decimal-string', set: { 'proxy.resources.limits.cpu': '1.5' } },
      { name: 'workers-decimal-number', valuesFiles: [CPU_NUMBER_VALUES] },
      { name: 'workers-explicit', set: { 'proxy.workers': 4 } },
      { name: 'monitoring', set: MONITORING_ON },
      {
        name: 'monitoring-no-services',
        set: {
          ...MONITORING_ON,
          'deviceManagement.enabled': false,
          'telemetry.enabled': false,
          'cdcMonitor.enabled': false,
          'routes.devicesApi.target': 'monolith',
          'routes.telemetryApi.target': 'monolith',
        },
      },
      { name: 'monitoring-demo', valuesFiles: [MINIKUBE], set: MONITORING_ON },
      {
        name: 'cdc-hooks',
        set: {
          'cdcSource.preflight.enabled': true,
          'cdcSource.teardown.enabled': true,
          'cdcSource.ownerDatabaseUrl': OWNER_URL,
          'cdcSource.debeziumDatabaseUrl': DEBEZIUM_URL,
        },
      },
      {
        name: 'cdc-hooks-existing-apply',
        set: {
          'cdcSource.preflight.enabled': true,
          'cdcSource.preflight.apply': true,
          'cdcSource.existingSecret': 'monolith-cdc-logins',
        },
      },
      ...Object.entries(BAD).map(([name, set]) => ({ name, set })),
    ],
  });
  demoPostgres = runHelm({
    chart: path.join(REPO_ROOT, 'helm', 'demo-postgres'),
    outDir: OUT,
    cases: [{ name: 'demo-postgres', release: 'warm-house-db' }],
  });
}, 600_000);
afterAll(() => rmSync(OUT, { recursive: true, force: true }));

describe('rendering', () => {
  it.each(['default', 'production', 'minikube'])('%s values render with real Helm, no unknown fields', (name) => {
    expect(report.helmVersion).toMatch(/^v3\./);
    expect(result(name)).toMatchObject({ ok: true, unknownFields: [] });
  });
});

describe('routes from values reach the proxy', () => {
  it('the ConfigMap holds every route of values.yaml, id in kebab-case, fields unchanged', () => {
    const values = parse(readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8'));
    const table = routesOf(manifests('default'));
    const byId = new Map<string, any>(table.routes.map((r: any) => [r.id, r]));
    expect(byId.size).toBe(Object.keys(values.routes).length);
    for (const [key, r] of Object.entries<any>(values.routes)) {
      const id = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      expect(byId.get(id)).toEqual({ id, ...r });
    }
  });

  it('`--set routes.heatingGet.target=device-management` moves that route and nothing else', () => {
    const before = routesOf(manifests('default'));
    const after = routesOf(manifests('route-to-service'));
    const changed = after.routes.filter(
      (r: any) => JSON.stringify(r) !== JSON.stringify(before.routes.find((b: any) => b.id === r.id)),
    );
    expect(changed).toEqual([expect.objectContaining({ id: 'heating-get', target: 'device-management' })]);
    expect(routesOf(manifests('route-unavailable')).routes).toContainEqual(
      expect.objectContaining({ id: 'heating-turn-on', mode: 'unavailable' }),
    );
  });

  it.each(['default', 'production', 'minikube', 'route-to-service', 'route-unavailable', 'route-with-plan'])(
    'the %s table is accepted by the proxy itself (compileTable)',
    (name) => {
      const compiled = compileTable(routesOf(manifests(name)), { env: {}, version: 1 });
      expect(compiled.ok ? [] : compiled.issues).toEqual([]);
    },
  );

  it('the table names the release and revision that rendered it (the proxy audits route changes with it)', () => {
    expect(routesOf(manifests('default')).release).toEqual({
      name: 'warm-house',
      revision: expect.any(Number),
      chart: expect.stringMatching(/^warm-house-\d+\.\d+\.\d+/),
    });
  });

  it('a route plan from values reaches the routes file, defaults filled in by the proxy', () => {
    const route = routesOf(manifests('route-with-plan')).routes.find((r: any) => r.id === 'heating-get');
    expect(route.plan).toEqual({ service: 'device-management', dwellSeconds: 600, gates: { minRequests: 500 } });
    expect(RouteSchema.parse(route).plan).toMatchObject({ status: 'active', canary: [5, 25, 50, 100] });
  });

  it('a route change does not touch the proxy Deployment (ConfigMap reload, no pod roll)', () => {
    const a = find(manifests('default'), 'Deployment', 'warm-house-proxy');
    const b = find(manifests('route-to-service'), 'Deployment', 'warm-house-proxy');
    expect(b).toEqual(a);
    const cmA = find(manifests('default'), 'ConfigMap', 'warm-house-proxy-routes');
    const cmB = find(manifests('route-to-service'), 'ConfigMap', 'warm-house-proxy-routes');
    expect(cmB).not.toEqual(cmA);
  });

  it('the routes ConfigMap is mounted as a directory (kubelet updates it in place; subPath would freeze it)', () => {
    const d = find(manifests('default'), 'Deployment', 'warm-house-proxy') as any;
    const c = d.spec.template.spec.containers[0];
    const mount = c.volumeMounts.find((m: any) => m.name === 'routes');
    expect(mount).toEqual({ name: 'routes', mountPath: '/etc/strangler/routes', readOnly: true });
    expect(c.env).toContainEqual({ name: 'PROXY_ROUTES_FILE', value: '/etc/strangler/routes/routes.yaml' });
    expect(c.env).toContainEqual({ name: 'PROXY_WATCH_ROUTES_FILE', value: 'true' });
    expect(d.spec.template.spec.volumes).toContainEqual({
      name: 'routes',
      configMap: { name: 'warm-house-proxy-routes' },
    });
  });

  it('values.schema.json allows exactly the route fields and modes the proxy knows', () => {
    const schema = JSON.parse(readFileSync(path.join(CHART_DIR, 'values.schema.json'), 'utf8'));
    const route = schema.properties.routes.additionalProperties;
    const proxyFields = Object.keys(RouteSchema.shape);
    expect(Object.keys(route.properties).sort()).toEqual(proxyFields.sort());
    expect([...route.properties.mode.enum].sort()).toEqual([...RouteSchema.shape.mode.unwrap().options].sort());
    expect(Object.keys(route.properties.shadow.properties).sort()).toEqual(Object.keys(ShadowSchema.shape).sort());
    expect(Object.keys(route.properties.auth.properties).sort()).toEqual(Object.keys(AuthSchema.shape).sort());
  });
});

describe('proxy delivery', () => {
  it('admin token from a Secret, rolling update without unavailability, HPA and PDB', () => {
    const ms = manifests('default');
    const d = find(ms, 'Deployment', 'warm-house-proxy') as any;
    expect(d.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    expect(d.spec.template.spec.containers[0].env).toContainEqual({
      name: 'PROXY_ADMIN_TOKEN',
      valueFrom: { secretKeyRef: { name: 'warm-house-proxy-admin', key: 'token' } },
    });
    expect(find(ms, 'Secret', 'warm-house-proxy-admin').metadata.annotations).toMatchObject({
      'helm.sh/hook': 'pre-install',
    });
    expect(find(ms, 'HorizontalPodAutoscaler', 'warm-house-proxy')).toBeDefined();
    expect(find(ms, 'PodDisruptionBudget', 'warm-house-proxy')).toBeDefined();
    const prod = find(manifests('production'), 'Deployment', 'warm-house-proxy') as any;
    expect(prod.spec.template.spec.containers[0].env).toContainEqual({
      name: 'PROXY_ADMIN_TOKEN',
      valueFrom: { secretKeyRef: { name: 'strangler-admin-token', key: 'token' } },
    });
    // identity: the issuer and audience from values; no identity provider is ever part of the chart
    expect(prod.spec.template.spec.containers[0].env).toEqual(
      expect.arrayContaining([
        { name: 'PROXY_OIDC_ISSUER', value: 'https://login.warm-house.example/realms/smart-home' },
        { name: 'PROXY_OIDC_AUDIENCE', value: 'urn:warm-house:api' },
        { name: 'PROXY_ADMIN_OIDC_AUDIENCE', value: 'urn:warm-house:strangler-admin' },
        { name: 'PROXY_ADMIN_ROLES_CLAIM', value: 'realm_access.roles' },
      ]),
    );
    expect(d.spec.template.spec.containers[0].env.map((e: { name: string }) => e.name)).not.toContain(
      'PROXY_OIDC_ISSUER',
    );
    expect(d.spec.template.spec.containers[0].env.map((e: { name: string }) => e.name)).not.toContain(
      'PROXY_ADMIN_OIDC_AUDIENCE',
    );
    // the dashboard signs people in with the company's provider: secrets from a Secret, never in values
    const monitorEnv = (find(manifests('production'), 'Deployment', 'warm-house-cdc-monitor') as any).spec.template.spec
      .containers[0].env;
    expect(monitorEnv).toEqual(
      expect.arrayContaining([
        { name: 'MONITOR_OIDC_ISSUER', value: 'https://login.warm-house.example/realms/smart-home' },
        { name: 'MONITOR_OIDC_CLIENT_ID', value: 'warm-house-dashboard' },
        { name: 'MONITOR_PUBLIC_URL', value: 'https://migration.warm-house.example' },
        { name: 'MONITOR_OIDC_RESOURCE', value: 'urn:warm-house:strangler-admin' },
        { name: 'MONITOR_OIDC_ROLES_CLAIM', value: 'realm_access.roles' },
        {
          name: 'MONITOR_SESSION_SECRET',
          valueFrom: { secretKeyRef: { name: 'cdc-monitor-oidc', key: 'sessionSecret' } },
        },
        {
          name: 'MONITOR_OIDC_CLIENT_SECRET',
          valueFrom: { secretKeyRef: { name: 'cdc-monitor-oidc', key: 'clientSecret', optional: true } },
        },
      ]),
    );
    const defaultMonitor = find(manifests('default'), 'Deployment', 'warm-house-cdc-monitor') as any;
    expect(JSON.stringify(defaultMonitor)).not.toContain('MONITOR_OIDC_ISSUER');
    for (const values of ['default', 'production'] as const)
      expect(JSON.stringify(manifests(values))).not.toMatch(/identity-provider|oidc-provider/);
  });
});

describe('proxy: monolith database for exact read-your-writes (PROXY_CDC_SOURCE_DATABASE_URL)', () => {
  const proxyEnv = (ms: Manifest[]): any[] =>
    (find(ms, 'Deployment', 'warm-house-proxy') as any).spec.template.spec.containers[0].env;
  const cdcSourceEnv = (ms: Manifest[]) => proxyEnv(ms).filter((e) => e.name === 'PROXY_CDC_SOURCE_DATABASE_URL');
  const ownedSecret = (ms: Manifest[]) =>
    ms.find((m) => m.kind === 'Secret' && m.metadata.name === 'warm-house-proxy-cdc-source') as any;

  it.each(['default', 'production'])('%s: not set, no Secret (the proxy pins by commit time)', (name) => {
    expect(cdcSourceEnv(manifests(name))).toEqual([]);
    expect(ownedSecret(manifests(name))).toBeUndefined();
  });

  it('url set: the chart writes it to its own Secret, the proxy reads it through a secretKeyRef', () => {
    const ms = manifests('cdc-source-url');
    expect(cdcSourceEnv(ms)).toEqual([
      {
        name: 'PROXY_CDC_SOURCE_DATABASE_URL',
        valueFrom: { secretKeyRef: { name: 'warm-house-proxy-cdc-source', key: 'PROXY_CDC_SOURCE_DATABASE_URL' } },
      },
    ]);
    expect(ownedSecret(ms).stringData).toEqual({ PROXY_CDC_SOURCE_DATABASE_URL: CDC_SOURCE_URL });
    const outsideSecrets = ms.filter((m) => m.kind !== 'Secret').map((m) => JSON.stringify(m));
    expect(outsideSecrets.filter((text) => text.includes('s3cret'))).toEqual([]);
  });

  it('existingSecret set: a secretKeyRef to that Secret and key, no chart-owned Secret', () => {
    const ms = manifests('cdc-source-existing');
    expect(cdcSourceEnv(ms)).toEqual([
      {
        name: 'PROXY_CDC_SOURCE_DATABASE_URL',
        valueFrom: { secretKeyRef: { name: 'monolith-wal-reader', key: 'url' } },
      },
    ]);
    expect(ownedSecret(ms)).toBeUndefined();
  });

  it("demo mode: the stand-in's database, like device management's MONOLITH_DATABASE_URL", () => {
    const ms = manifests('minikube');
    const standinUrl = parse(readFileSync(MINIKUBE, 'utf8')).demo.monolithStandin.databaseUrl;
    expect(cdcSourceEnv(ms)).toEqual([
      {
        name: 'PROXY_CDC_SOURCE_DATABASE_URL',
        valueFrom: { secretKeyRef: { name: 'warm-house-proxy-cdc-source', key: 'PROXY_CDC_SOURCE_DATABASE_URL' } },
      },
    ]);
    expect(ownedSecret(ms).stringData).toEqual({ PROXY_CDC_SOURCE_DATABASE_URL: standinUrl });
    expect(find(ms, 'Secret', 'warm-house-device-management-db').stringData).toMatchObject({
      MONOLITH_DATABASE_URL: standinUrl,
    });
  });
});

describe("proxy: the fleet's control database (PROXY_CONTROL_DATABASE_URL)", () => {
  const proxy = (ms: Manifest[]): any => find(ms, 'Deployment', 'warm-house-proxy');
  const proxyEnv = (ms: Manifest[]): any[] => proxy(ms).spec.template.spec.containers[0].env;
  const envOf = (ms: Manifest[], name: string) => proxyEnv(ms).filter((e) => e.name === name);
  const ownedSecret = (ms: Manifest[]) =>
    ms.find((m) => m.kind === 'Secret' && m.metadata.name === 'warm-house-proxy-control-db') as any;
  const migrateJob = (ms: Manifest[]) =>
    ms.find((m) => m.kind === 'Job' && m.metadata.name === 'warm-house-proxy-migrate') as any;
  const ref = (name: string, key: string) => ({ valueFrom: { secretKeyRef: { name, key } } });
  const OWNED_REF = ref('warm-house-proxy-control-db', 'PROXY_CONTROL_DATABASE_URL');

  it('url set: the chart writes it to its own hook Secret; the proxy reads it through a secretKeyRef', () => {
    const ms = manifests('control-url');
    expect(envOf(ms, 'PROXY_CONTROL_DATABASE_URL')).toEqual([{ name: 'PROXY_CONTROL_DATABASE_URL', ...OWNED_REF }]);
    const secret = ownedSecret(ms);
    expect(secret.stringData).toEqual({ PROXY_CONTROL_DATABASE_URL: CONTROL_URL });
    // a hook like the services' database Secrets: it exists before the migration Job (also a hook) runs
    expect(secret.metadata.annotations).toMatchObject({
      'helm.sh/hook': 'pre-install,pre-upgrade',
      'helm.sh/hook-delete-policy': 'before-hook-creation',
    });
    expect(Number(secret.metadata.annotations['helm.sh/hook-weight'])).toBeLessThan(
      Number(migrateJob(ms).metadata.annotations['helm.sh/hook-weight']),
    );
    const outsideSecrets = ms.filter((m) => m.kind !== 'Secret').map((m) => JSON.stringify(m));
    expect(outsideSecrets.filter((text) => text.includes('c0ntr0l-pw'))).toEqual([]);
  });

  it('existingSecret set: the proxy and the migration Job read that Secret and key, no chart-owned Secret', () => {
    const ms = manifests('control-existing');
    expect(envOf(ms, 'PROXY_CONTROL_DATABASE_URL')).toEqual([
      { name: 'PROXY_CONTROL_DATABASE_URL', ...ref('strangler-control', 'url') },
    ]);
    expect(migrateJob(ms).spec.template.spec.containers[0].env).toEqual([
      { name: 'DATABASE_URL', ...ref('strangler-control', 'url') },
    ]);
    expect(ownedSecret(ms)).toBeUndefined();
    const prod = manifests('production');
    expect(envOf(prod, 'PROXY_CONTROL_DATABASE_URL')).toEqual([
      { name: 'PROXY_CONTROL_DATABASE_URL', ...ref('strangler-control-db', 'PROXY_CONTROL_DATABASE_URL') },
    ]);
    expect(ownedSecret(prod)).toBeUndefined();
  });

  it("migrations/proxy runs exactly like the services' migrations: same Job, the proxy image, DATABASE_URL from the Secret", () => {
    const ms = manifests('control-url');
    const job = migrateJob(ms);
    const service = find(ms, 'Job', 'warm-house-telemetry-migrate') as any;
    expect(job.metadata.annotations).toEqual(service.metadata.annotations);
    const c = job.spec.template.spec.containers[0];
    const sc = service.spec.template.spec.containers[0];
    expect(c.args).toEqual(sc.args.map((a: string) => (a === 'migrations/telemetry' ? 'migrations/proxy' : a)));
    expect(c.image).toBe(proxy(ms).spec.template.spec.containers[0].image);
    expect(c.env).toEqual([{ name: 'DATABASE_URL', ...OWNED_REF }]);
    expect({ ...job.spec, template: undefined }).toEqual({ ...service.spec, template: undefined });
    expect(job.spec.template.spec.volumes).toEqual(service.spec.template.spec.volumes);
    expect(job.spec.template.spec.securityContext).toEqual(service.spec.template.spec.securityContext);
    // what the Job runs is in the repository: node-pg-migrate SQL files
    const files = readdirSync(path.join(REPO_ROOT, 'migrations', 'proxy'));
    expect(files.some((f) => /^\d+_[a-z0-9-]+\.sql$/.test(f))).toBe(true);
    expect(migrateJob(manifests('control-migrations-off'))).toBeUndefined();
    expect(envOf(manifests('control-migrations-off'), 'PROXY_CONTROL_DATABASE_URL')).toHaveLength(1);
  });

  it('with a control database the state is not in an emptyDir; PROXY_STATE_DIR is scratch space under /tmp', () => {
    for (const name of ['default', 'production', 'minikube', 'control-url', 'control-existing']) {
      const spec = proxy(manifests(name)).spec.template.spec;
      expect({ name, volumes: spec.volumes.map((v: any) => v.name).sort() }).toEqual({
        name,
        volumes: ['routes', 'tmp'],
      });
      expect({ name, env: envOf(manifests(name), 'PROXY_STATE_DIR') }).toEqual({
        name,
        env: [{ name: 'PROXY_STATE_DIR', value: '/tmp/strangler' }],
      });
      expect({ name, url: envOf(manifests(name), 'PROXY_CONTROL_DATABASE_URL').length }).toEqual({ name, url: 1 });
    }
  });

  it('no control database, one replica, no HPA: one process with its state in an emptyDir, no Secret, no Job', () => {
    const ms = manifests('single-process');
    const d = proxy(ms);
    expect(d.spec.replicas).toBe(1);
    expect(ms.filter((m) => m.kind === 'HorizontalPodAutoscaler' && m.metadata.name === 'warm-house-proxy')).toEqual(
      [],
    );
    expect(envOf(ms, 'PROXY_CONTROL_DATABASE_URL')).toEqual([]);
    expect(envOf(ms, 'PROXY_STATE_DIR')).toEqual([{ name: 'PROXY_STATE_DIR', value: '/var/lib/strangler' }]);
    expect(d.spec.template.spec.volumes).toContainEqual({ name: 'state', emptyDir: { sizeLimit: '256Mi' } });
    expect(d.spec.template.spec.containers[0].volumeMounts).toContainEqual({
      name: 'state',
      mountPath: '/var/lib/strangler',
    });
    expect(ownedSecret(ms)).toBeUndefined();
    expect(migrateJob(ms)).toBeUndefined();
  });

  it('demo: the demo PostgreSQL release has a strangler database owned by a strangler role with the password of the URL', () => {
    const url = new URL(parse(readFileSync(MINIKUBE, 'utf8')).proxy.controlDatabase.url);
    const ms = manifests('minikube');
    expect(envOf(ms, 'PROXY_CONTROL_DATABASE_URL')).toEqual([{ name: 'PROXY_CONTROL_DATABASE_URL', ...OWNED_REF }]);
    expect(ownedSecret(ms).stringData).toEqual({ PROXY_CONTROL_DATABASE_URL: url.href });
    expect(migrateJob(ms)).toBeDefined();
    // the URL names what demo-postgres creates, as the services' URLs do
    const dbCase = demoPostgres.cases[0]!;
    expect(dbCase.ok).toBe(true);
    const db = parseManifests(readFileSync(dbCase.file!, 'utf8'));
    const dmUrl = new URL(parse(readFileSync(MINIKUBE, 'utf8')).deviceManagement.database.url);
    expect(url.host).toBe(dmUrl.host);
    expect(find(db, 'Service', url.hostname)).toBeDefined();
    expect([url.username, url.pathname]).toEqual(['strangler', '/strangler']);
    expect((find(db, 'Secret', 'warm-house-db') as any).stringData.STRANGLER_PASSWORD).toBe(url.password);
    const init: string = (find(db, 'ConfigMap', 'warm-house-db-init') as any).data['10-databases.sh'];
    expect(init).toContain('-v strangler="$STRANGLER_PASSWORD"');
    expect(init).toContain("CREATE ROLE strangler LOGIN PASSWORD :'strangler';");
    expect(init).toContain('CREATE DATABASE strangler OWNER strangler;');
    expect(init).toMatch(/REVOKE ALL ON DATABASE [^;]*\bstrangler\b[^;]*FROM PUBLIC;/);
  });
});

describe('proxy: PROXY_WORKERS from the CPU limit', () => {
  const workers = (name: string) =>
    (find(manifests(name), 'Deployment', 'warm-house-proxy') as any).spec.template.spec.containers[0].env.filter(
      (e: any) => e.name === 'PROXY_WORKERS',
    );
  it.each<[string, string, string]>([
    ['default', "limits.cpu '1'", '1'],
    ['production', "limits.cpu '2'", '2'],
    ['minikube', 'limits.cpu 500m', '1'],
    ['workers-tiny', 'limits.cpu 100m (at least 1)', '1'],
    ['workers-millicores', 'limits.cpu 2500m (rounded up)', '3'],
    ['workers-decimal-string', "limits.cpu '1.5'", '2'],
    ['workers-decimal-number', 'limits.cpu 1.5 (a YAML number)', '2'],
    ['workers-explicit', 'proxy.workers=4 over limits.cpu 1', '4'],
  ])('%s: %s -> PROXY_WORKERS=%s', (name, _why, expected) => {
    expect(workers(name)).toEqual([{ name: 'PROXY_WORKERS', value: expected }]);
  });
});

describe('every workload', () => {
  it.each(['default', 'production', 'minikube'])('%s: no container runs as root', (name) => {
    const pods = podSpecs(manifests(name));
    expect(pods.length).toBeGreaterThan(3);
    for (const { id, spec } of pods) {
      expect({ id, runAsNonRoot: spec.securityContext?.runAsNonRoot }).toEqual({ id, runAsNonRoot: true });
      expect({ id, uid: spec.securityContext?.runAsUser }).not.toEqual({ id, uid: 0 });
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        const sc = c.securityContext ?? {};
        expect({
          id,
          c: c.name,
          sc: [sc.runAsNonRoot === false, sc.runAsUser === 0, sc.allowPrivilegeEscalation, sc.privileged ?? false],
        }).toEqual({ id, c: c.name, sc: [false, false, false, false] });
      }
    }
  });

  it.each(['default', 'production', 'minikube'])('%s: every Deployment has probes, every container limits', (name) => {
    for (const { id, kind, spec } of podSpecs(manifests(name))) {
      for (const c of spec.containers) {
        expect({ id, c: c.name, limits: Object.keys(c.resources?.limits ?? {}).sort() }).toEqual({
          id,
          c: c.name,
          limits: ['cpu', 'memory'],
        });
        if (kind !== 'Job') {
          expect({ id, live: !!c.livenessProbe, ready: !!c.readinessProbe }).toEqual({ id, live: true, ready: true });
        }
      }
    }
  });

  it('extracted services follow the conventions: port 8080, /health/live, /health/ready, DATABASE_URL, KAFKA_BROKERS', () => {
    const ms = manifests('default');
    for (const svc of ['device-management', 'telemetry']) {
      const c = (find(ms, 'Deployment', `warm-house-${svc}`) as any).spec.template.spec.containers[0];
      expect(c.ports[0]).toEqual({ name: 'http', containerPort: 8080, protocol: 'TCP' });
      expect(c.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
      const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
      expect(env).toMatchObject({
        PORT: '8080',
        HOST: '0.0.0.0',
        KAFKA_BROKERS: 'warm-house-kafka-bootstrap:9092',
        LOG_LEVEL: 'info',
        DATABASE_URL: { secretKeyRef: { name: `warm-house-${svc}-db`, key: 'DATABASE_URL' } },
      });
      expect(find(ms, 'HorizontalPodAutoscaler', `warm-house-${svc}`)).toBeDefined();
    }
  });

  it('migrations run as pre-install/pre-upgrade Jobs, after the Secret they read', () => {
    const ms = manifests('default');
    for (const svc of ['device-management', 'telemetry']) {
      const job = find(ms, 'Job', `warm-house-${svc}-migrate`) as any;
      const secret = find(ms, 'Secret', `warm-house-${svc}-db`);
      expect(job.metadata.annotations['helm.sh/hook']).toBe('pre-install,pre-upgrade');
      expect(secret.metadata.annotations!['helm.sh/hook']).toBe('pre-install,pre-upgrade');
      expect(Number(secret.metadata.annotations!['helm.sh/hook-weight'])).toBeLessThan(
        Number(job.metadata.annotations['helm.sh/hook-weight']),
      );
      // the same arguments as every process that migrates (packages/shared migrate.ts), the folder relative
      const [bin, ...args] = job.spec.template.spec.containers[0].args as string[];
      expect(bin).toBe('node_modules/node-pg-migrate/bin/node-pg-migrate.js');
      expect(args).toEqual(
        migrationArgs(svc).map((a) => (a === path.join(MIGRATIONS_ROOT, svc) ? `migrations/${svc}` : a)),
      );
    }
  });
});

describe('Kafka and CDC (Strimzi)', () => {
  it('KRaft: one node pool of 3 controller+broker nodes, replication 3, min.insync.replicas 2', () => {
    const ms = manifests('default');
    const pool = find(ms, 'KafkaNodePool', 'warm-house-dual') as any;
    expect(pool.spec.replicas).toBe(3);
    expect(pool.spec.roles).toEqual(['controller', 'broker']);
    expect(pool.metadata.labels['strimzi.io/cluster']).toBe('warm-house');
    const kafka = find(ms, 'Kafka', 'warm-house') as any;
    expect(kafka.spec.kafka.config).toMatchObject({ 'default.replication.factor': 3, 'min.insync.replicas': 2 });
    expect(kafka.spec.zookeeper).toBeUndefined();
  });

  it('the KafkaConnector config equals cdc/connectors/monolith-heating.json with its placeholders filled', () => {
    const check = (name: string, db: { host: string; port: number; name: string }) => {
      const connector = find(manifests(name), 'KafkaConnector', 'monolith-heating') as any;
      const [expected] = loadConnectorConfigs(path.join(REPO_ROOT, 'cdc', 'connectors'), {
        MONOLITH_DB_HOST: db.host,
        MONOLITH_DB_PORT: String(db.port),
        MONOLITH_DB_NAME: db.name,
        DEBEZIUM_DB_USER: '${directory:/mnt/debezium-credentials:username}',
        DEBEZIUM_DB_PASSWORD: '${directory:/mnt/debezium-credentials:password}',
      });
      const { 'connector.class': cls, 'tasks.max': tasks, ...rest } = expected!.config as Record<string, string>;
      expect(connector.metadata.name).toBe(expected!.name);
      expect(connector.metadata.labels['strimzi.io/cluster']).toBe('warm-house-connect');
      expect(connector.spec.class).toBe(cls);
      expect(connector.spec.tasksMax).toBe(Number(tasks));
      expect(connector.spec.config).toEqual(rest);
    };
    check('default', { host: 'warm-house-monolith-db', port: 5432, name: 'smart_home' });
    check('production', { host: 'heating-db.legacy.svc.cluster.local', port: 5432, name: 'smart_home' });
    check('minikube', { host: 'warm-house-db', port: 5432, name: 'smart_home' });
  });

  it('the chart reads the connector through a symlink to cdc/connectors (one file, not a copy)', () => {
    const link = path.join(CHART_DIR, 'files', 'connectors', 'monolith-heating.json');
    expect(readFileSync(link, 'utf8')).toBe(
      readFileSync(path.join(REPO_ROOT, 'cdc', 'connectors', 'monolith-heating.json'), 'utf8'),
    );
    expect(require('node:fs').lstatSync(link).isSymbolicLink()).toBe(true);
  });

  it('Connect builds the Debezium version of cdc/runtime/maven/pom.xml and reads the login from a mounted Secret', () => {
    const pom = readFileSync(path.join(REPO_ROOT, 'cdc', 'runtime', 'maven', 'pom.xml'), 'utf8');
    const debezium = /<debezium\.version>([^<]+)</.exec(pom)![1]!;
    const kafkaMinor = /<kafka\.version>(\d+\.\d+)\./.exec(pom)![1]!;
    const connect = find(manifests('default'), 'KafkaConnect', 'warm-house-connect') as any;
    expect(connect.metadata.annotations['strimzi.io/use-connector-resources']).toBe('true');
    const artifact = connect.spec.build.plugins[0].artifacts[0];
    expect(artifact.url).toContain(`/debezium-connector-postgres/${debezium}/`);
    expect(artifact.sha512sum).toMatch(/^[0-9a-f]{128}$/);
    expect(connect.spec.version.startsWith(`${kafkaMinor}.`)).toBe(true);
    expect(connect.spec.config['config.providers.directory.class']).toBe(
      'org.apache.kafka.common.config.provider.DirectoryConfigProvider',
    );
    expect(connect.spec.template.connectContainer.volumeMounts[0].mountPath).toBe('/mnt/debezium-credentials');
    expect(JSON.stringify(find(manifests('default'), 'KafkaConnector', 'monolith-heating'))).not.toContain('change-me');
  });

  it('KafkaTopics cover every topic the connector writes (prefix + include list)', () => {
    const config = JSON.parse(
      readFileSync(path.join(REPO_ROOT, 'cdc', 'connectors', 'monolith-heating.json'), 'utf8'),
    ).config;
    const topics = manifests('default')
      .filter((m) => m.kind === 'KafkaTopic')
      .map((m) => (m as any).spec.topicName);
    for (const table of String(config['table.include.list']).split(',')) {
      expect(topics).toContain(`${config['topic.prefix']}.${table.trim()}`);
    }
  });

  it('the Strimzi schemas are those of the operator version the chart is written for', () => {
    const chart = parse(readFileSync(path.join(CHART_DIR, 'Chart.yaml'), 'utf8'));
    const schema = JSON.parse(readFileSync(path.join(STRIMZI_SCHEMAS_DIR, 'Kafka.json'), 'utf8'));
    expect(schema['x-strimzi-version']).toBe(chart.annotations['warm-house/strimzi-version']);
    const pom = readFileSync(path.join(REPO_ROOT, 'delivery', 'strimzi', 'pom.xml'), 'utf8');
    expect(pom).toContain(`<strimzi.version>${schema['x-strimzi-version']}</strimzi.version>`);
  });
});

describe('the CDC monitor', () => {
  it('runs as one Deployment with probes on /healthz and its config from values, behind a Service on 9470', () => {
    const ms = manifests('default');
    const d = find(ms, 'Deployment', 'warm-house-cdc-monitor') as any;
    expect(d.spec.replicas).toBe(1);
    const c = d.spec.template.spec.containers[0];
    expect(c.image).toBe('ghcr.io/warm-house/warm-house-cdc-monitor:0.1.0');
    expect(c.ports[0]).toEqual({ name: 'http', containerPort: 9470, protocol: 'TCP' });
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'])
      expect(c[probe].httpGet).toEqual({ path: '/healthz', port: 'http' });
    const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom.secretKeyRef]));
    expect(env).toMatchObject({
      MONITOR_HOST: '0.0.0.0',
      MONITOR_PORT: '9470',
      MONITOR_TOKEN: { name: 'warm-house-cdc-monitor-token', key: 'token' },
      MONOLITH_DATABASE_URL: { name: 'warm-house-cdc-monitor-db', key: 'MONOLITH_DATABASE_URL' },
      CONNECT_URL: 'http://warm-house-connect-connect-api:8083',
      KAFKA_BROKERS: 'warm-house-kafka-bootstrap:9092',
      CONNECTORS: 'monolith-heating',
      REPLICATION_SLOTS: 'warmhouse_monolith',
      CDC_MONITOR_SERVICES:
        'device-management=http://warm-house-device-management:8080,telemetry=http://warm-house-telemetry:8080',
      PROXY_ADMIN_URL: 'http://warm-house-proxy-admin:8001',
      PROXY_ADMIN_TOKEN: { name: 'warm-house-proxy-admin', key: 'token' },
    });
    expect(env.CONSUMER_GROUPS.split(',')).toEqual(
      expect.arrayContaining(['device-management.heating-sync', 'telemetry.projector']),
    );
    // every variable the monitor reads from a Secret names one the chart renders
    for (const ref of Object.values(env).filter((v): v is { name: string } => typeof v === 'object'))
      expect(find(ms, 'Secret', ref.name)).toBeDefined();
    const svc = find(ms, 'Service', 'warm-house-cdc-monitor') as any;
    expect(svc.spec.ports[0]).toMatchObject({ name: 'http', port: 9470, targetPort: 'http' });
    // the config the chart gives it passes the monitor's own schema
    const { loadMonitorConfig } =
      require('../../cdc-monitor/src/config') as typeof import('../../cdc-monitor/src/config');
    const config = loadMonitorConfig({
      ...Object.fromEntries(Object.entries(env).filter(([, v]) => typeof v === 'string')),
      MONITOR_TOKEN: 'a-token-of-sixteen-chars',
      MONOLITH_DATABASE_URL: 'postgres://m:pw@db/smart_home',
      PROXY_ADMIN_TOKEN: 'x',
    } as NodeJS.ProcessEnv);
    expect(config.CDC_MONITOR_SERVICES.map((x) => x.name)).toEqual(['device-management', 'telemetry']);
  });

  it('demo: reads the stand-in database; switched off: not rendered', () => {
    expect(find(manifests('minikube'), 'Secret', 'warm-house-cdc-monitor-db')).toMatchObject({
      stringData: { MONOLITH_DATABASE_URL: expect.stringContaining('@warm-house-db:5432/smart_home') },
    });
    const noServices = manifests('monitoring-no-services').map((m) => `${m.kind}/${m.metadata.name}`);
    expect(noServices).not.toContain('Deployment/warm-house-cdc-monitor');
  });
});

describe('the CDC source hooks: cdc:preflight before the release, cdc:teardown after it (cdcSource)', () => {
  const hookJobs = (ms: Manifest[]) =>
    ms.filter((m) => m.kind === 'Job' && /cdc-(preflight|teardown)$/.test(m.metadata.name)).map((m) => m.metadata.name);
  const container = (job: Manifest) => (job as any).spec.template.spec.containers[0];

  it.each(['cdc-hooks', 'cdc-hooks-existing-apply'])('%s renders with real Helm, no unknown fields', (name) => {
    expect(result(name)).toMatchObject({ ok: true, unknownFields: [] });
  });

  it('off by default: no Job, no Secret', () => {
    const ms = manifests('default');
    expect(hookJobs(ms)).toEqual([]);
    expect(ms.filter((m) => m.metadata.name === 'warm-house-cdc-source')).toEqual([]);
  });

  it('preflight: a pre-install/pre-upgrade Job of the CLI with --prepare --record-slot, failing the release on a ✗', () => {
    const ms = manifests('cdc-hooks');
    const job = find(ms, 'Job', 'warm-house-cdc-preflight') as any;
    expect(job.metadata.annotations['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    expect(job.spec.backoffLimit).toBe(0); // the first non-zero exit fails the hook, and with it the release
    const c = container(job);
    // the CDC monitor's image, which holds the CLI; node is its entrypoint
    expect(c.image).toBe(container(find(ms, 'Deployment', 'warm-house-cdc-monitor')).image);
    // an install: no --allow-active-slot (an upgrade adds it, .Release.IsUpgrade; helm-java renders installs only)
    expect(c.args).toEqual(['--import', 'tsx', 'cdc/src/preflight-cli.ts', '--prepare', '--record-slot']);
    expect(readFileSync(path.join(CHART_DIR, 'templates/cdc/source-hooks.yaml'), 'utf8')).toMatch(
      /if \.Release\.IsUpgrade \}\}\{\{ \$args = append \$args "--allow-active-slot"/,
    );
    expect(existsSync(path.join(REPO_ROOT, c.args[2]))).toBe(true);
    expect(PREFLIGHT_FLAGS).toEqual(expect.arrayContaining(c.args.slice(3)));
    const [connector] = loadConnectorConfigs(path.join(REPO_ROOT, 'cdc', 'connectors'), {
      MONOLITH_DB_HOST: 'h',
      MONOLITH_DB_PORT: '5432',
      MONOLITH_DB_NAME: 'd',
      DEBEZIUM_DB_USER: 'u',
      DEBEZIUM_DB_PASSWORD: 'p',
    });
    expect(c.env).toEqual([{ name: 'CDC_SLOT_NAME', value: connector!.config['slot.name'] }]);
    expect(c.envFrom).toEqual([{ secretRef: { name: 'warm-house-cdc-source' } }]);
    // the KafkaConnector is an ordinary resource: created only after every pre-install hook succeeded
    expect(find(ms, 'KafkaConnector', 'monolith-heating').metadata.annotations?.['helm.sh/hook']).toBeUndefined();
  });

  it('teardown: a post-delete Job of the teardown CLI, retried while the slot is still held', () => {
    const job = find(manifests('cdc-hooks'), 'Job', 'warm-house-cdc-teardown') as any;
    expect(job.metadata.annotations['helm.sh/hook']).toBe('post-delete');
    expect(job.spec.backoffLimit).toBeGreaterThan(0);
    expect(container(job).args).toEqual(['--import', 'tsx', 'cdc/src/teardown-cli.ts']);
    expect(existsSync(path.join(REPO_ROOT, 'cdc/src/teardown-cli.ts'))).toBe(true);
    expect(container(job).envFrom).toEqual([{ secretRef: { name: 'warm-house-cdc-source' } }]);
  });

  it('the logins: a hook Secret for every hook event, created before the Jobs, or the existingSecret', () => {
    const ms = manifests('cdc-hooks');
    const secret = find(ms, 'Secret', 'warm-house-cdc-source') as any;
    expect(secret.metadata.annotations['helm.sh/hook']).toBe('pre-install,pre-upgrade,post-delete');
    expect(secret.stringData).toEqual({ MONOLITH_DATABASE_URL: OWNER_URL, DEBEZIUM_DATABASE_URL: DEBEZIUM_URL });
    for (const name of ['warm-house-cdc-preflight', 'warm-house-cdc-teardown'])
      expect(Number(secret.metadata.annotations['helm.sh/hook-weight'])).toBeLessThan(
        Number(find(ms, 'Job', name).metadata.annotations!['helm.sh/hook-weight']),
      );
    const existing = manifests('cdc-hooks-existing-apply');
    expect(hookJobs(existing)).toEqual(['warm-house-cdc-preflight']);
    expect(existing.filter((m) => m.metadata.name === 'warm-house-cdc-source')).toEqual([]);
    const c = container(find(existing, 'Job', 'warm-house-cdc-preflight'));
    expect(c.args).toContain('--apply');
    expect(c.envFrom).toEqual([{ secretRef: { name: 'monolith-cdc-logins' } }]);
  });
});

describe('monitoring (Prometheus Operator, Grafana): every switch off by default', () => {
  const monitoringKinds = (ms: Manifest[]) =>
    ms
      .filter((m) => m.apiVersion.startsWith('monitoring.coreos.com/') || m.metadata.labels?.grafana_dashboard)
      .map((m) => `${m.kind}/${m.metadata.name}`)
      .sort();

  it.each(['default', 'production', 'minikube'])('%s renders no monitoring resource and no Strimzi metrics', (name) => {
    const ms = manifests(name);
    expect(monitoringKinds(ms)).toEqual([]);
    expect((find(ms, 'Kafka', 'warm-house') as any).spec.kafka.metricsConfig).toBeUndefined();
  });

  it('switched on: a ServiceMonitor per component, a PodMonitor for Kafka and Connect, the rules, the dashboard', () => {
    expect(monitoringKinds(manifests('monitoring'))).toEqual([
      'ConfigMap/warm-house-grafana-dashboard',
      'PodMonitor/warm-house-kafka',
      'PrometheusRule/warm-house-alerts',
      'ServiceMonitor/warm-house-cdc-monitor',
      'ServiceMonitor/warm-house-device-management',
      'ServiceMonitor/warm-house-proxy',
      'ServiceMonitor/warm-house-telemetry',
    ]);
    expect(monitoringKinds(manifests('monitoring-no-services'))).toEqual([
      'ConfigMap/warm-house-grafana-dashboard',
      'PodMonitor/warm-house-kafka',
      'PrometheusRule/warm-house-alerts',
      'ServiceMonitor/warm-house-proxy',
    ]);
  });

  it('each ServiceMonitor selects a Service with its port; those needing a token read it from a rendered Secret', () => {
    const ms = manifests('monitoring');
    for (const sm of ms.filter((m) => m.kind === 'ServiceMonitor') as any[]) {
      expect(sm.metadata.labels.release).toBe('kube-prometheus-stack');
      const endpoint = sm.spec.endpoints[0];
      const services = ms.filter(
        (m: any) =>
          m.kind === 'Service' &&
          Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => m.metadata.labels?.[k] === v) &&
          m.spec.ports.some((p: any) => p.name === endpoint.port),
      );
      expect({ sm: sm.metadata.name, services: services.length }).toEqual({ sm: sm.metadata.name, services: 1 });
      const secret = endpoint.authorization?.credentials?.name;
      if (['warm-house-proxy', 'warm-house-cdc-monitor'].includes(sm.metadata.name)) {
        expect(find(ms, 'Secret', secret)).toBeDefined();
        expect(endpoint.authorization.credentials.key).toBe('token');
      } else expect(endpoint.authorization).toBeUndefined();
    }
  });

  it('Kafka and Connect export metrics through Strimzi’s metrics reporter; the PodMonitor selects both clusters', () => {
    const ms = manifests('monitoring');
    const kafka = find(ms, 'Kafka', 'warm-house') as any;
    const connect = find(ms, 'KafkaConnect', 'warm-house-connect') as any;
    expect(kafka.spec.kafka.metricsConfig.type).toBe('strimziMetricsReporter');
    expect(connect.spec.metricsConfig).toEqual(kafka.spec.kafka.metricsConfig);
    const pm = find(ms, 'PodMonitor', 'warm-house-kafka') as any;
    expect(pm.spec.selector.matchExpressions[0]).toEqual({
      key: 'strimzi.io/cluster',
      operator: 'In',
      values: ['warm-house', 'warm-house-connect'],
    });
    expect(pm.spec.podMetricsEndpoints[0].port).toBe('tcp-prometheus');
  });

  it('the PrometheusRule holds the groups of cdc-monitor/alerts and proxy/alerts unchanged, read through symlinks', () => {
    const rule = find(manifests('monitoring'), 'PrometheusRule', 'warm-house-alerts') as any;
    const groups = [CDC_ALERTS_FILE, PROXY_ALERTS_FILE].flatMap((f) => parse(readFileSync(f, 'utf8')).groups);
    expect(rule.spec.groups).toEqual(groups);
    for (const f of ['cdc-alerts.yaml', 'proxy-alerts.yaml'])
      expect(lstatSync(path.join(CHART_DIR, 'files', 'alerts', f)).isSymbolicLink()).toBe(true);
  });

  it('promtool (Debian’s prometheus package) accepts the rendered rules', () => {
    const rule = find(manifests('monitoring'), 'PrometheusRule', 'warm-house-alerts') as any;
    const file = path.join(OUT, 'rendered-rules.yaml');
    writeFileSync(file, JSON.stringify({ groups: rule.spec.groups }));
    let out: string;
    try {
      out = execFileSync('promtool', ['check', 'rules', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const e = err as { code?: string; stdout?: string; stderr?: string };
      if (e.code === 'ENOENT')
        throw new Error('promtool not found: apt-get install prometheus (Debian), as .ci/run does');
      throw new Error(`promtool check rules failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
    const count = rule.spec.groups.reduce((n: number, g: any) => n + g.rules.length, 0);
    expect(out).toContain(`SUCCESS: ${count} rules found`);
  });

  it('the Grafana dashboard ConfigMap carries the sidecar label and the generated JSON', () => {
    const cm = find(manifests('monitoring'), 'ConfigMap', 'warm-house-grafana-dashboard') as any;
    expect(cm.metadata.labels.grafana_dashboard).toBe('1');
    expect(cm.metadata.annotations.grafana_folder).toBe('Warm House');
    expect(JSON.parse(cm.data['warm-house-migration.json'])).toEqual(JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')));
  });
});

describe('values.schema.json rejects bad values with a clear message', () => {
  it.each<[string, RegExp]>([
    ['bad-mode', /routes\/heatingGet\/mode.*(forward|unavailable|canary)/s],
    ['bad-target', /routes\/heatingGet\/target.*monolith/s],
    ['bad-typo', /proxy.*additional properties.*replica/is],
    ['bad-root', /podSecurityContext\/runAsNonRoot/],
    ['bad-limits', /proxy\/resources.*limits/is],
    ['bad-owner', /image\/owner/],
    ['bad-sha', /pluginSha512/],
    ['bad-replication', /kafka\.replicationFactor \(4\) cannot exceed kafka\.nodePool\.replicas \(3\)/],
    ['bad-disabled-target', /routes\.heatingGet\.target: upstream "telemetry" is not enabled/],
    ['bad-cdc-source-url', /proxy\/cdcSourceDatabase\/url/],
    ['bad-admin-audience', /proxy\.oidc\.adminAudience: set it with proxy\.oidc\.issuer/],
    ['bad-monitor-oidc', /cdcMonitor\.oidc\.clientId: set it with cdcMonitor\.oidc\.issuer/],
    ['bad-monitor-oidc-http', /cdcMonitor\/oidc\/issuer/],
    ['bad-roles-claim', /proxy\/oidc\/rolesClaim/],
    ['bad-cdc-source-plain-env', /proxy\.env\.PROXY_CDC_SOURCE_DATABASE_URL: .*proxy\.cdcSourceDatabase/],
    [
      'bad-control-none-replicas',
      /proxy\.controlDatabase: proxy\.replicas=2 without a control database.*Set proxy\.controlDatabase\.url or \.existingSecret/,
    ],
    ['bad-control-none-hpa', /proxy\.controlDatabase: proxy\.autoscaling\.enabled=true without a control database/],
    ['bad-control-url', /proxy\/controlDatabase\/url/],
    ['bad-control-plain-env', /proxy\.env\.PROXY_CONTROL_DATABASE_URL: .*proxy\.controlDatabase/],
    ['bad-workers-zero', /proxy\/workers/],
    ['bad-workers-word', /proxy\/workers/],
    ['bad-workers-plain-env', /proxy\.env\.PROXY_WORKERS: set proxy\.workers/],
    ['bad-workers-cpu-unit', /proxy\.resources\.limits\.cpu "1k": .*set proxy\.workers/],
    ['bad-monitoring-typo', /monitoring.*additional properties.*serviceMonitor/is],
    ['bad-monitoring-interval', /monitoring\/serviceMonitors\/interval/],
    ['bad-cdc-monitor-replicas', /cdcMonitor\/replicas/],
    ['bad-cdc-hooks-no-login', /cdcSource: .*set cdcSource\.existingSecret .* or cdcSource\.ownerDatabaseUrl/],
    ['bad-cdc-hooks-url', /cdcSource\/ownerDatabaseUrl/],
  ])('%s', (name, message) => {
    const r = result(name);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(message);
  });
});
