/**
 * `npm run helm:check`: real Helm (helm-java) on every chart of helm/ — `helm lint --strict`, then
 * `helm template` with the default values and each values file of helm/values/ — and every rendered manifest
 * validated: built-in kinds against the Kubernetes schemas (kubernetes-models, compiled from the Kubernetes
 * OpenAPI spec) plus unknown fields (fabric8 model, what `kubectl --validate=strict` refuses); Strimzi kinds
 * against the CRD schemas of delivery/schemas/strimzi/. Rendered manifests and a report are written to
 * test-artifacts/helm/. Exit code 1 on any finding.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CHARTS } from './helm/cases';
import { runHelm } from './helm/runner';
import { ARTIFACTS_DIR } from './paths';
import { parseManifests, validateManifests, type Finding } from './validate/manifests';

/** The validators must find a known mistake, or a pass means nothing (e.g. a schema package that stopped loading). */
async function selfCheck(): Promise<void> {
  const bad = parseManifests(
    'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: x }\nspec:\n  selector: {}\n  template:\n    spec:\n      containers: [{ name: c, ports: [{ containerPort: http }] }]\n' +
      '---\napiVersion: kafka.strimzi.io/v1\nkind: KafkaTopic\nmetadata: { name: t }\nspec: { partitions: one }\n' +
      '---\napiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: { name: s }\nspec: { endpoints: [{ port: http, intervall: 30s }], selector: {} }\n',
  );
  const findings = await validateManifests(bad);
  const caught = new Set(findings.map((f) => f.resource));
  if (!caught.has('Deployment/x') || !caught.has('KafkaTopic/t') || !caught.has('ServiceMonitor/s')) {
    throw new Error(`validator self-check failed: known-bad manifests passed (${JSON.stringify(findings)})`);
  }
}

async function main(): Promise<number> {
  const started = Date.now();
  await selfCheck();
  const problems: string[] = [];
  const summary: Record<string, unknown> = {};
  for (const [chart, { dir, cases }] of Object.entries(CHARTS)) {
    const report = runHelm({ chart: dir, lint: true, cases: [...cases], outDir: ARTIFACTS_DIR });
    const lint = report.lint!;
    console.log(`${chart}: helm ${report.helmVersion} lint --strict ${lint.failed ? 'FAILED' : 'ok'}`);
    for (const m of lint.messages) {
      console.log(`  ${m}`);
      if (lint.failed || /\[(WARNING|ERROR)\]/.test(m)) problems.push(`${chart} lint: ${m}`);
    }
    for (const c of report.cases) {
      if (!c.ok) {
        problems.push(`${c.name}: helm template failed: ${c.error}`);
        console.log(`  ${c.name}: FAILED ${c.error}`);
        continue;
      }
      const manifests = parseManifests(readFileSync(c.file!, 'utf8'));
      const findings: Finding[] = [
        ...(c.unknownFields ?? []).map((f) => ({ resource: f.resource, path: f.path, message: f.message })),
        ...(await validateManifests(manifests)),
      ];
      const kinds = [...new Set(manifests.map((m) => m.kind))].sort();
      console.log(
        `  ${c.name}: ${manifests.length} manifests (${kinds.join(', ')}) -> ${path.relative(process.cwd(), c.file!)}: ${findings.length === 0 ? 'valid' : `${findings.length} finding(s)`}`,
      );
      for (const f of findings) {
        console.log(`    ${f.resource} ${f.path}: ${f.message}`);
        problems.push(`${c.name}: ${f.resource} ${f.path}: ${f.message}`);
      }
      summary[c.name] = { manifests: manifests.length, kinds, findings };
    }
  }
  const seconds = (Date.now() - started) / 1000;
  writeFileSync(
    path.join(ARTIFACTS_DIR, 'report.json'),
    JSON.stringify({ ok: problems.length === 0, seconds, problems, cases: summary }, null, 2) + '\n',
  );
  console.log(
    problems.length === 0
      ? `helm:check passed in ${seconds.toFixed(1)} s`
      : `helm:check: ${problems.length} problem(s)`,
  );
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
