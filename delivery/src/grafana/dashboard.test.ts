import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ProxyMetrics } from '../../../proxy/src/metrics';
import { CDC_METRICS, createMetrics as createMonitorMetrics } from '../../../cdc-monitor/src/metrics';
import { createMetrics as createDeviceManagementMetrics } from '../../../extracted/device-management/src/metrics';
import { createMetrics as createTelemetryMetrics } from '../../../extracted/telemetry/src/metrics';
import { mergeMetrics } from '../../../proxy/src/fleet/merge';
import { CDC_ALERTS_FILE, DASHBOARD_FILE, PROXY_ALERTS_FILE } from '../paths';
import { buildDashboard, dashboardQueries, ROWS } from './dashboard';
import { dashboardJson } from './generate';
import { exposedNames, metricNames, PromqlSyntaxError, withoutGrafanaVariables } from './promql';

const rulesOf = (file: string) =>
  (
    parse(readFileSync(file, 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }
  ).groups.flatMap((g) => g.rules);

describe('PromQL helpers', () => {
  it.each([
    ['foo_total', ['foo_total']],
    ['sum by (job) (rate(foo_total{job="x_y"}[5m])) > 2 * 1024 or bar_seconds == 0', ['foo_total', 'bar_seconds']],
    ['histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m])))', ['h_bucket']],
    ['{__name__="by_name", a="b"}', ['by_name']],
    ['max by (a) (x) != min by (a) (x)', ['x']],
    ['vector(1)', []],
  ])('metricNames(%s)', (expr, names) => {
    expect(metricNames(expr)).toEqual(names);
  });

  it('refuses what does not parse, naming where', () => {
    expect(() => metricNames('sum(rate(foo[5m])')).toThrow(PromqlSyntaxError);
    expect(() => metricNames('foo{a=}')).toThrow(/offset/);
    expect(() => metricNames('rate(foo[$__rate_interval])')).toThrow(PromqlSyntaxError);
  });

  it('turns Grafana interval variables into durations', () => {
    expect(withoutGrafanaVariables('rate(a[$__rate_interval]) + increase(b[$__range]) + c{n=~"$namespace"}')).toBe(
      'rate(a[5m]) + increase(b[1h]) + c{n=~"$namespace"}',
    );
  });

  it('reads declared metrics of an exposition, histogram and summary series included, labelled ones without samples', () => {
    const text = [
      '# HELP a_total A',
      '# TYPE a_total counter',
      '# TYPE h_seconds histogram',
      'h_seconds_bucket{le="1"} 0',
      '# TYPE s summary',
      'loose{x="1"} 2',
      'bare 1',
    ].join('\n');
    expect([...exposedNames(text)].sort()).toEqual(
      [
        'a_total',
        'bare',
        'h_seconds_bucket',
        'h_seconds_count',
        'h_seconds_sum',
        'loose',
        's',
        's_count',
        's_sum',
      ].sort(),
    );
  });
});

describe('the Grafana dashboard', () => {
  it('the chart’s JSON is what delivery/src/grafana/dashboard.ts builds (npm run grafana:dashboard)', () => {
    expect(readFileSync(DASHBOARD_FILE, 'utf8')).toBe(dashboardJson());
  });

  it('every panel query parses and selects at least one metric', () => {
    for (const q of dashboardQueries()) {
      expect({ ...q, names: metricNames(withoutGrafanaVariables(q.expr)).length > 0 }).toMatchObject({ names: true });
    }
  });

  it('every panel query names only metrics declared by the registries of the proxy (one worker and a fleet), the services and the monitor', async () => {
    const fleet = mergeMetrics({
      expected: 2,
      answers: [],
      missing: [],
      slots: [{ slot: 0, pid: 1, state: 'ready', startedAt: null, restarts: 0 } as never],
    });
    const expositions = await Promise.all([
      new ProxyMetrics({ defaultMetrics: true }).registry.metrics(),
      fleet.metrics(),
      createDeviceManagementMetrics().registry.metrics(),
      createTelemetryMetrics().registry.metrics(),
      createMonitorMetrics().registry.metrics(),
    ]);
    const declared = new Set(expositions.flatMap((text) => [...exposedNames(text)]));
    for (const q of dashboardQueries())
      for (const name of metricNames(withoutGrafanaVariables(q.expr)))
        expect({ panel: q.panel, name, declared: declared.has(name) }).toMatchObject({ declared: true });
  });

  it('lays panels out on the 24-column grid without overlap, with unique ids', () => {
    const panels = (
      buildDashboard() as { panels: Array<{ id: number; gridPos: { x: number; y: number; w: number; h: number } }> }
    ).panels;
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    const cells = new Set<string>();
    for (const { gridPos: g } of panels) {
      expect(g.x + g.w).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++)
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`)).toBe(false);
          cells.add(`${x},${y}`);
        }
    }
    expect(panels.length).toBe(ROWS.length + ROWS.reduce((n, r) => n + r.panels.length, 0));
  });
});

describe('alerting rules', () => {
  it('every expression of cdc-monitor/alerts and proxy/alerts parses', () => {
    for (const r of [...rulesOf(CDC_ALERTS_FILE), ...rulesOf(PROXY_ALERTS_FILE)]) {
      expect({ alert: r.alert, names: metricNames(r.expr).length }).toEqual({
        alert: r.alert,
        names: expect.any(Number),
      });
    }
  });

  it('proxy rules name only metrics the proxy declares; CDC rules only the monitor’s', async () => {
    const proxy = exposedNames(await new ProxyMetrics().registry.metrics());
    for (const r of rulesOf(PROXY_ALERTS_FILE))
      for (const name of metricNames(r.expr))
        expect({ alert: r.alert, name, exported: proxy.has(name) }).toMatchObject({ exported: true });
    for (const r of rulesOf(CDC_ALERTS_FILE))
      for (const name of metricNames(r.expr))
        expect({ alert: r.alert, name, exported: name in CDC_METRICS }).toMatchObject({ exported: true });
  });

  it('cover the proxy’s error rate per target, breaker open, plan rolled back and fleet not converged', () => {
    const byAlert = new Map(rulesOf(PROXY_ALERTS_FILE).map((r) => [r.alert, metricNames(r.expr)]));
    expect(byAlert.get('StranglerTargetErrorRateHigh')).toEqual(['strangler_requests_total']);
    expect(byAlert.get('StranglerCircuitOpen')).toEqual(['strangler_circuit_state']);
    expect(byAlert.get('StranglerPlanRolledBack')).toEqual(['strangler_route_plan_status']);
    expect(byAlert.get('StranglerFleetNotConverged')).toEqual(['strangler_route_table_version']);
  });
});
