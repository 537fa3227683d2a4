import path from 'node:path';
import { REPO_ROOT, VALUES_DIR } from '../paths';
import type { RenderCase } from './runner';

/** Every switch of `monitoring` on (they are all off by default). */
export const MONITORING_ON = {
  'monitoring.labels.release': 'kube-prometheus-stack',
  'monitoring.serviceMonitors.enabled': true,
  'monitoring.kafkaMetrics.enabled': true,
  'monitoring.prometheusRule.enabled': true,
  'monitoring.grafanaDashboard.enabled': true,
} as const;

/** The charts of this repository and the values files `helm:check` renders each with. */
export const CHARTS = {
  'warm-house': {
    dir: path.join(REPO_ROOT, 'helm', 'warm-house'),
    cases: [
      { name: 'warm-house-default' },
      { name: 'warm-house-production', valuesFiles: [path.join(VALUES_DIR, 'production.yaml')] },
      { name: 'warm-house-minikube', valuesFiles: [path.join(VALUES_DIR, 'minikube.yaml')] },
      // no control database: one proxy process with its state in an emptyDir (development)
      {
        name: 'warm-house-single-process',
        set: { 'proxy.controlDatabase.url': '', 'proxy.replicas': 1, 'proxy.autoscaling.enabled': false },
      },
      // kube-prometheus-stack: every monitoring switch on (ServiceMonitors, Strimzi metrics + PodMonitor, rules, dashboard)
      { name: 'warm-house-monitoring', set: MONITORING_ON },
      {
        name: 'warm-house-monitoring-minikube',
        valuesFiles: [path.join(VALUES_DIR, 'minikube.yaml')],
        set: MONITORING_ON,
      },
    ] satisfies RenderCase[],
  },
  'demo-postgres': {
    dir: path.join(REPO_ROOT, 'helm', 'demo-postgres'),
    cases: [{ name: 'demo-postgres-default', release: 'warm-house-db' }] satisfies RenderCase[],
  },
} as const;
