import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHART_DIR, DELIVERY_DIR } from '../paths';
import { compileJava, javaTool, mavenClasspath } from './java';

/** One `helm template` run: values files (in order, like `-f`) and `--set` pairs. */
export interface RenderCase {
  /** Also the name of the rendered file (`<name>.yaml`). */
  name: string;
  valuesFiles?: string[];
  set?: Record<string, string | number | boolean>;
  release?: string;
  namespace?: string;
}

/** A field of a rendered manifest that the Kubernetes model does not know, or a value it cannot read. */
export interface StrictFinding {
  resource: string;
  path: string;
  message: string;
}

export interface CaseResult {
  name: string;
  ok: boolean;
  /** Helm's error when rendering failed (schema violations, `fail` in a template). */
  error?: string;
  file?: string;
  documents?: number;
  unknownFields?: StrictFinding[];
  ms: number;
}

export interface HelmReport {
  helmVersion: string;
  lint?: { failed: boolean; messages: string[] };
  cases: CaseResult[];
}

/** The Kubernetes version the manifests are rendered and validated for (Minikube's default line). */
export const KUBE_VERSION = 'v1.33.0';

const RUNNER_DIR = path.join(DELIVERY_DIR, 'helm-runner');

/**
 * Runs real Helm (helm-java, in one JVM) on the chart: optionally `helm lint --strict`, then `helm template`
 * for each case, writing the rendered manifests to `outDir`. Never throws for a case that fails to render:
 * its Helm error is in the report.
 */
export function runHelm(job: {
  cases: RenderCase[];
  outDir: string;
  lint?: boolean;
  chart?: string;
  /** Kubernetes version Helm renders for (`.Capabilities.KubeVersion`, the chart's kubeVersion check). */
  kubeVersion?: string;
}): HelmReport {
  const classpath = mavenClasspath(path.join(RUNNER_DIR, 'pom.xml'));
  const classes = compileJava(path.join(RUNNER_DIR, 'HelmRunner.java'), classpath);
  mkdirSync(job.outDir, { recursive: true });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'helm-job-'));
  try {
    const jobFile = path.join(tmp, 'job.json');
    writeFileSync(
      jobFile,
      JSON.stringify({
        chart: job.chart ?? CHART_DIR,
        outDir: job.outDir,
        lint: job.lint ?? false,
        kubeVersion: job.kubeVersion ?? KUBE_VERSION,
        cases: job.cases.map((c) => ({
          name: c.name,
          release: c.release ?? 'warm-house',
          namespace: c.namespace ?? 'warm-house',
          valuesFiles: c.valuesFiles ?? [],
          set: Object.entries(c.set ?? {}).map(([k, v]) => [k, String(v)]),
        })),
      }),
    );
    const stdout = execFileSync(
      javaTool('java'),
      [
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        '-cp',
        `${classes}${path.delimiter}${classpath}`,
        'HelmRunner',
        jobFile,
      ],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 },
    );
    return JSON.parse(stdout) as HelmReport;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
