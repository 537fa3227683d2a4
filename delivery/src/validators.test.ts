import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { watchFile } from '../../proxy/src/table/watch';
import { crdValidator, PROMETHEUS_OPERATOR, strimziValidator, type Manifest } from './validate/manifests';

// The checks of helm:check must find what they claim to find: these feed them known-bad input. The strict field
// check runs in real Helm (a JVM): helm-strict-fields.ptest.ts, jest `process` project.

describe('Strimzi custom resources against the generated CRD schemas', () => {
  const validator = strimziValidator();
  const connector = (spec: Record<string, unknown>, apiVersion = 'kafka.strimzi.io/v1'): Manifest => ({
    apiVersion,
    kind: 'KafkaConnector',
    metadata: { name: 'monolith-heating', labels: { 'strimzi.io/cluster': 'c' } },
    spec,
  });

  it('accepts a valid resource', () => {
    expect(validator.validate(connector({ class: 'X', tasksMax: 1, config: { a: '1' } }))).toEqual([]);
  });

  it('refuses unknown fields, wrong types, the old API version and bad names', () => {
    const msgs = (m: Manifest) => validator.validate(m).map((f) => `${f.path} ${f.message}`);
    expect(msgs(connector({ class: 'X', taskMax: 1 }))).toEqual(['/spec must NOT have additional properties: taskMax']);
    expect(msgs(connector({ class: 'X', tasksMax: 'one' }))).toEqual(['/spec/tasksMax must be integer']);
    expect(msgs(connector({ class: 'X' }, 'kafka.strimzi.io/v1beta2'))).toEqual([
      '/apiVersion must be kafka.strimzi.io/v1 (Strimzi 1.2.0)',
    ]);
    expect(msgs({ ...connector({}), metadata: { name: 'Monolith_Heating' } })).toEqual([
      '/metadata/name must be a DNS-1123 subdomain',
    ]);
  });

  it('leaves free-form maps free (connector config preserves unknown fields)', () => {
    expect(validator.validate(connector({ class: 'X', config: { 'any.key': 'v', nested: { ok: 1 } } }))).toEqual([]);
  });
});

describe('Prometheus Operator custom resources against the vendored CRD schemas', () => {
  const validator = crdValidator(PROMETHEUS_OPERATOR);
  const msgs = (m: Manifest) => validator.validate(m).map((f) => `${f.path} ${f.message}`);
  const monitor = (endpoint: Record<string, unknown>): Manifest => ({
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: 'proxy' },
    spec: { selector: { matchLabels: { a: 'b' } }, endpoints: [{ port: 'admin', ...endpoint }] },
  });
  const rule = (r: Record<string, unknown>): Manifest => ({
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'alerts' },
    spec: { groups: [{ name: 'g', rules: [{ alert: 'A', expr: 'up == 0', ...r }] }] },
  });

  it('accepts valid resources (bearer token from a Secret, a rule with for and labels)', () => {
    expect(
      msgs(monitor({ interval: '30s', authorization: { type: 'Bearer', credentials: { name: 's', key: 'token' } } })),
    ).toEqual([]);
    expect(msgs(rule({ for: '5m', labels: { severity: 'warning' } }))).toEqual([]);
  });

  it('refuses unknown fields, bad durations, a wrong kind or version', () => {
    expect(msgs(monitor({ intervall: '30s' }))).toEqual([
      '/spec/endpoints/0 must NOT have additional properties: intervall',
    ]);
    expect(msgs(monitor({ interval: '30 seconds' }))).toEqual([
      expect.stringMatching(/^\/spec\/endpoints\/0\/interval must match pattern/),
    ]);
    expect(msgs(rule({ for: 'soon' }))).toEqual([
      expect.stringMatching(/^\/spec\/groups\/0\/rules\/0\/for must match pattern/),
    ]);
    expect(msgs({ ...rule({}), apiVersion: 'monitoring.coreos.com/v1alpha1' })).toEqual([
      '/apiVersion must be monitoring.coreos.com/v1 (Prometheus Operator 0.93.0)',
    ]);
    expect(msgs({ ...rule({}), kind: 'Probe' })).toEqual(['/kind no Prometheus Operator schema for kind Probe']);
  });

  it('reads the Go patterns of the CRDs: (?i) is case-insensitive', () => {
    const group = (v: string): Manifest => ({
      ...rule({}),
      spec: { groups: [{ name: 'g', partial_response_strategy: v, rules: [] }] },
    });
    expect(msgs(group('WARN'))).toEqual([]);
    expect(msgs(group('ignore'))).toEqual([expect.stringMatching(/partial_response_strategy must match pattern/)]);
  });
});

describe('route reloads from a ConfigMap volume', () => {
  // The kubelet updates a ConfigMap volume by writing a new timestamped directory and atomically renaming the
  // `..data` symlink; `routes.yaml` itself is a symlink to `..data/routes.yaml` and never changes. A watcher that
  // only reacts to events naming `routes.yaml` misses every update, and a `helm upgrade` of the routes would then
  // need a pod restart; proxy/src/table/watch.ts therefore also reacts to `..data`.
  it('the proxy file watcher sees a kubelet-style ConfigMap update', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'configmap-'));
    const version = (ts: string, text: string) => {
      mkdirSync(path.join(dir, ts));
      writeFileSync(path.join(dir, ts, 'routes.yaml'), text);
    };
    version('..2026_01_01_00_00_00.1', 'first');
    symlinkSync('..2026_01_01_00_00_00.1', path.join(dir, '..data'));
    symlinkSync('..data/routes.yaml', path.join(dir, 'routes.yaml'));
    let seen = '';
    const stop = watchFile(
      path.join(dir, 'routes.yaml'),
      () => (seen = readFileSync(path.join(dir, 'routes.yaml'), 'utf8')),
      () => undefined,
      20,
    );
    try {
      await new Promise((r) => setTimeout(r, 100));
      version('..2026_01_01_00_01_00.2', 'second');
      symlinkSync('..2026_01_01_00_01_00.2', path.join(dir, '..data_tmp'));
      renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
      rmSync(path.join(dir, '..2026_01_01_00_00_00.1'), { recursive: true });
      for (let i = 0; i < 50 && seen !== 'second'; i++) await new Promise((r) => setTimeout(r, 20));
      expect(seen).toBe('second');
    } finally {
      stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
