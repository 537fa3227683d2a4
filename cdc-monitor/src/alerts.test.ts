import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { CDC_METRICS } from './metrics';

interface Rule {
  alert?: unknown;
  expr?: unknown;
  for?: unknown;
  labels?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

const FILE = path.resolve(__dirname, '..', 'alerts', 'cdc-alerts.yaml');
const rules = (parse(readFileSync(FILE, 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> }).groups.flatMap(
  (g) => g.rules,
);
/** Identifiers of a PromQL expression that name metrics: not label matchers, ranges, grouping, functions or operators. */
const metricsIn = (expr: string) =>
  [
    ...expr
      .replace(/\{[^}]*\}|\[[^\]]*\]/g, ' ')
      .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
      .matchAll(/\b([a-z_][a-z0-9_]*)\b(?!\s*\()/g),
  ]
    .map((m) => m[1]!)
    .filter((name) => !['or', 'and', 'unless', 'bool'].includes(name));

describe('cdc-monitor/alerts/cdc-alerts.yaml', () => {
  it('is a rules file whose every rule has a name, an expression, a severity and a summary', () => {
    expect(rules.length).toBeGreaterThan(0);
    for (const r of rules) {
      expect(typeof r.alert).toBe('string');
      expect(typeof r.expr).toBe('string');
      expect(['critical', 'warning']).toContain(r.labels?.severity);
      expect(typeof r.annotations?.summary).toBe('string');
      if (r.for !== undefined) expect(String(r.for)).toMatch(/^\d+[smh]$/);
    }
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
  });

  it('references only metrics the monitor exports, each alert at least one', () => {
    for (const r of rules) {
      const used = metricsIn(String(r.expr));
      expect({ alert: r.alert, used: used.length > 0 }).toEqual({ alert: r.alert, used: true });
      for (const name of used)
        expect({ alert: r.alert, name, exported: name in CDC_METRICS }).toMatchObject({ exported: true });
    }
  });

  it('finds metric names in expressions but not operators, functions or label values', () => {
    expect(metricsIn('sum by (job) (rate(foo_total{job="x_y"}[5m])) > 2 * 1024 or bar_seconds == 0')).toEqual([
      'foo_total',
      'bar_seconds',
    ]);
  });

  it.each([
    ['connector not RUNNING', 'cdc_connector_running'],
    ['freshness over threshold', 'cdc_table_freshness_seconds'],
    ['WAL retained over threshold', 'cdc_replication_slot_retained_wal_bytes'],
    ['drift found', 'cdc_drift_rows'],
  ])('covers %s', (_what, metric) => {
    expect(rules.some((r) => metricsIn(String(r.expr)).includes(metric))).toBe(true);
  });
});
