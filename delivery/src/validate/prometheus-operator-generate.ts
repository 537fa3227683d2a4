/**
 * Regenerates delivery/schemas/prometheus-operator/*.json: the openAPIV3Schema of each Prometheus Operator custom
 * resource the chart renders (ServiceMonitor, PodMonitor, PrometheusRule), taken from the CRD files the Prometheus
 * Operator project publishes with each release (`example/prometheus-operator-crd/monitoring.coreos.com_*.yaml` of
 * the release tag; also in kube-prometheus-stack's `charts/crds/`). The operator's version is read from the CRDs'
 * `operator.prometheus.io/version` annotation. Descriptions are dropped to keep the files small. The project's
 * licence (Apache-2.0) and NOTICE are kept beside the schemas.
 *
 * Run: npm run helm:prometheus-operator-schemas -- <folder holding the CRD yaml files, LICENSE and NOTICE>
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parse } from 'yaml';
import { PROMETHEUS_OPERATOR_SCHEMAS_DIR } from '../paths';
import { stripDescriptions } from './crd-schema';

/** Kinds the chart renders, with the file name of their CRD. */
export const PROMETHEUS_OPERATOR_KINDS = {
  ServiceMonitor: 'monitoring.coreos.com_servicemonitors.yaml',
  PodMonitor: 'monitoring.coreos.com_podmonitors.yaml',
  PrometheusRule: 'monitoring.coreos.com_prometheusrules.yaml',
} as const;

interface Crd {
  metadata: { annotations: Record<string, string> };
  spec: {
    group: string;
    versions: Array<{ name: string; storage: boolean; schema: { openAPIV3Schema: unknown } }>;
  };
}

function main(source: string | undefined): void {
  if (!source || !existsSync(source)) throw new Error('usage: helm:prometheus-operator-schemas -- <CRD folder>');
  mkdirSync(PROMETHEUS_OPERATOR_SCHEMAS_DIR, { recursive: true });
  for (const [kind, file] of Object.entries(PROMETHEUS_OPERATOR_KINDS)) {
    const crd = parse(readFileSync(path.join(source, file), 'utf8')) as Crd;
    const version = crd.metadata.annotations['operator.prometheus.io/version'];
    const v = crd.spec.versions.find((x) => x.storage) ?? crd.spec.versions[0]!;
    const out = {
      $comment: `From ${file} of the Prometheus Operator ${version} release (Apache-2.0, LICENSE beside this file), descriptions dropped; regenerate with npm run helm:prometheus-operator-schemas, do not edit.`,
      'x-prometheus-operator-version': version,
      'x-api-version': `${crd.spec.group}/${v.name}`,
      'x-kind': kind,
      schema: stripDescriptions(v.schema.openAPIV3Schema),
    };
    writeFileSync(path.join(PROMETHEUS_OPERATOR_SCHEMAS_DIR, `${kind}.json`), JSON.stringify(out, null, 2) + '\n');
    console.log(`${kind}: ${crd.spec.group}/${v.name} (Prometheus Operator ${version})`);
  }
  for (const f of ['LICENSE', 'NOTICE'])
    copyFileSync(path.join(source, f), path.join(PROMETHEUS_OPERATOR_SCHEMAS_DIR, f));
  execFileSync(
    process.execPath,
    [require.resolve('prettier/bin/prettier.cjs'), '--write', `${PROMETHEUS_OPERATOR_SCHEMAS_DIR}/*.json`],
    { stdio: 'ignore' },
  );
}

main(process.argv[2]);
