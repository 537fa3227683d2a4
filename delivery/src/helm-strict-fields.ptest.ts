import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runHelm } from './helm/runner';

// The checks of helm:check must find what they claim to find: this feeds the strict field check (fabric8 model,
// run in the Helm runner's JVM) a known-bad chart. Jest `process` project: it starts Maven (first run) and a JVM.

describe('strict field check of built-in kinds (fabric8 model, in the Helm runner)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bad-chart-'));
    mkdirSync(path.join(dir, 'bad', 'templates'), { recursive: true });
    writeFileSync(path.join(dir, 'bad', 'Chart.yaml'), 'apiVersion: v2\nname: bad\nversion: 0.1.0\n');
    writeFileSync(path.join(dir, 'bad', 'values.yaml'), '{}\n');
    writeFileSync(
      path.join(dir, 'bad', 'templates', 'd.yaml'),
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: { name: x }',
        'spec:',
        '  selector: { matchLabels: { a: b } }',
        '  template:',
        '    metadata: { labels: { a: b } }',
        '    spec:',
        '      containers:',
        '        - name: c',
        '          image: nginx',
        '          livenessprobe: {}',
        '          resources: { limits: { memory: 12Zi } }',
      ].join('\n'),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports a misspelt field and an unreadable quantity, with their paths', () => {
    const report = runHelm({ chart: path.join(dir, 'bad'), outDir: path.join(dir, 'out'), cases: [{ name: 'bad' }] });
    const findings = report.cases[0]!.unknownFields!.map((f) => `${f.resource} ${f.path}: ${f.message.split(':')[0]}`);
    expect(findings.sort()).toEqual([
      'Deployment/x .spec.template.spec.containers[0].livenessprobe: unknown field',
      'Deployment/x .spec.template.spec.containers[0].resources.limits.memory: invalid value',
    ]);
  }, 600_000);
});
