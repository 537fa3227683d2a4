/**
 * The Grafana dashboard of the migration, as data: rows of panels, each with its PromQL. `npm run grafana:dashboard`
 * writes it as Grafana's JSON model to helm/warm-house/files/grafana/ (the chart's ConfigMap for the dashboard
 * sidecar); a unit test keeps the file equal to what this source builds, and an integration test checks that every
 * query names only metrics the proxy, the services and the CDC monitor export on their live /metrics.
 */

/** One query of a panel. */
export interface Query {
  expr: string;
  legend: string;
}

/** One time series panel. */
export interface Panel {
  title: string;
  description: string;
  /** Grafana unit id: reqps, percentunit, s, bytes, short, none */
  unit: string;
  queries: Query[];
  /** 6, 8 or 12 of the 24 columns; default 8 */
  width?: number;
  /** value → text, for state gauges */
  mappings?: Record<string, string>;
}

export interface Row {
  title: string;
  panels: Panel[];
}

/** Every selector filters on the namespace chosen at the top of the dashboard. */
const m = (metric: string, matchers = '') => `${metric}{namespace=~"$namespace"${matchers ? `,${matchers}` : ''}}`;
const rate = (metric: string, matchers = '') => `rate(${m(metric, matchers)}[$__rate_interval])`;
const p99 = (histogram: string, by: string) =>
  `histogram_quantile(0.99, sum by (${by}, le) (${rate(`${histogram}_bucket`)}))`;

/** A panel of one gauge, its highest value per `by` (one series per table, group, slot, service). */
const maxPer = (panel: { title: string; description: string; unit: string; metric: string; by: string }): Panel => ({
  title: panel.title,
  description: panel.description,
  unit: panel.unit,
  queries: [{ expr: `max by (${panel.by}) (${m(panel.metric)})`, legend: `{{${panel.by}}}` }],
});

export const ROWS: Row[] = [
  {
    title: 'Migration progress',
    panels: [
      {
        title: 'Requests per second by target',
        description: 'Answered by the proxy, split by the upstream that answered (monolith or a new service).',
        unit: 'reqps',
        queries: [{ expr: `sum by (target) (${rate('strangler_requests_total')})`, legend: '{{target}}' }],
      },
      {
        title: 'Share served by new services',
        description: 'Requests answered by any upstream but the monolith, of all requests.',
        unit: 'percentunit',
        queries: [
          {
            expr: `sum(${rate('strangler_requests_total', 'target!="monolith"')}) / sum(${rate('strangler_requests_total')})`,
            legend: 'new services',
          },
        ],
      },
      {
        title: 'Route plans by status',
        description: 'Routes whose migration plan is active, paused, done or rolled back (from the table served).',
        unit: 'short',
        queries: [
          {
            expr: `count by (status) (max by (route, status) (${m('strangler_route_plan_status')}))`,
            legend: '{{status}}',
          },
        ],
      },
    ],
  },
  {
    title: 'Routes and targets',
    panels: [
      {
        title: 'Error rate per target',
        description: '5xx answers of all answers, per upstream (502/504 when the proxy could not reach it).',
        unit: 'percentunit',
        queries: [
          {
            expr: `sum by (target) (${rate('strangler_requests_total', 'status=~"5.."')}) / sum by (target) (${rate('strangler_requests_total')})`,
            legend: '{{target}}',
          },
        ],
      },
      {
        title: 'p99 latency per target',
        description: 'From the request head to the end of the response, through the proxy.',
        unit: 's',
        queries: [{ expr: p99('strangler_request_duration_seconds', 'target'), legend: '{{target}}' }],
      },
      {
        title: 'p99 latency per route and target',
        description: 'The same per route: a canary compares its two targets here.',
        unit: 's',
        queries: [
          { expr: p99('strangler_request_duration_seconds', 'route, target'), legend: '{{route}} → {{target}}' },
        ],
      },
      {
        title: 'Requests per second per route and target',
        description: 'How each route’s traffic is split while it moves (canary weight, shadow, fallback).',
        unit: 'reqps',
        queries: [
          { expr: `sum by (route, target) (${rate('strangler_requests_total')})`, legend: '{{route}} → {{target}}' },
        ],
      },
      {
        title: 'Shadow differences',
        description: 'Shadow copies whose answer differed from the primary’s, of those compared.',
        unit: 'percentunit',
        queries: [
          {
            expr: `sum by (route) (${rate('strangler_shadow_total', 'result="different"')}) / sum by (route) (${rate('strangler_shadow_total', 'result="compared"')})`,
            legend: '{{route}}',
          },
        ],
      },
      {
        title: 'Upstream errors and fallbacks',
        description: 'Forwarding failures by upstream and stage; safe requests answered by the fallback instead.',
        unit: 'reqps',
        queries: [
          {
            expr: `sum by (target, stage) (${rate('strangler_upstream_errors_total')})`,
            legend: '{{target}} {{stage}}',
          },
          { expr: `sum by (route, to) (${rate('strangler_fallbacks_total')})`, legend: 'fallback {{route}} → {{to}}' },
        ],
      },
    ],
  },
  {
    title: 'Proxy fleet',
    panels: [
      {
        title: 'Route table version per process',
        description:
          'Every pod and worker should serve the same version within seconds (alert StranglerFleetNotConverged).',
        unit: 'none',
        queries: [
          { expr: `max by (pod, worker) (${m('strangler_route_table_version')})`, legend: '{{pod}} {{worker}}' },
        ],
      },
      {
        title: 'Circuit breakers',
        description: 'Per upstream, the worst process: closed, half-open or open.',
        unit: 'none',
        mappings: { '0': 'closed', '1': 'half-open', '2': 'open' },
        queries: [
          { expr: `max by (upstream) (${m('strangler_circuit_state')})`, legend: '{{upstream}}' },
          { expr: `max by (upstream) (${m('strangler_shadow_circuit_state')})`, legend: 'shadow {{upstream}}' },
        ],
      },
      {
        title: 'Control store and workers',
        description: 'Processes that reach the control store, and worker processes restarted.',
        unit: 'short',
        queries: [
          { expr: `sum(${m('strangler_control_store', 'state="reachable"')})`, legend: 'reaching the store' },
          {
            expr: `sum(increase(${m('strangler_worker_restarts_total')}[$__rate_interval]))`,
            legend: 'worker restarts',
          },
        ],
      },
      {
        title: 'CDC-aware reads',
        description: 'Reads served by the service (fresh) or sent to the source (lag, unknown, pinned).',
        unit: 'reqps',
        queries: [
          { expr: `sum by (served, reason) (${rate('strangler_cdc_reads_total')})`, legend: '{{served}} {{reason}}' },
        ],
      },
    ],
  },
  {
    title: 'Change data capture',
    panels: [
      maxPer({
        title: 'Freshness per table',
        description: 'now − source commit time of the last change seen on the table’s topic.',
        unit: 's',
        metric: 'cdc_table_freshness_seconds',
        by: 'table',
      }),
      maxPer({
        title: 'Consumer lag per group',
        description: 'Messages not yet consumed, summed over a group’s partitions.',
        unit: 'short',
        metric: 'cdc_consumer_group_lag_messages',
        by: 'group',
      }),
      maxPer({
        title: 'Replication slot retained WAL',
        description: 'WAL the monolith keeps for the slot; grows while the connector does not confirm.',
        unit: 'bytes',
        metric: 'cdc_replication_slot_retained_wal_bytes',
        by: 'slot',
      }),
      maxPer({
        title: 'Heartbeat probe latency per service',
        description: 'Probe row written in the monolith → applied by the service (database clock).',
        unit: 's',
        metric: 'cdc_probe_latency_seconds',
        by: 'service',
      }),
      {
        title: 'Connectors and heartbeat',
        description: 'Connectors with every task RUNNING, and the age of Debezium’s heartbeat.',
        unit: 'short',
        queries: [
          { expr: `min by (connector) (${m('cdc_connector_running')})`, legend: 'running {{connector}}' },
          { expr: `max(${m('cdc_heartbeat_age_seconds')})`, legend: 'heartbeat age (s)' },
        ],
      },
    ],
  },
  {
    title: 'Services',
    panels: [
      {
        title: 'Device management: requests and CDC apply lag',
        description: 'HTTP requests per second by status, and the lag of the last change applied from the monolith.',
        unit: 'short',
        width: 12,
        queries: [
          { expr: `sum by (status) (${rate('device_management_http_requests_total')})`, legend: 'HTTP {{status}} /s' },
          { expr: `max(${m('device_management_cdc_last_apply_lag_seconds')})`, legend: 'CDC apply lag (s)' },
        ],
      },
      {
        title: 'Device management: CDC freshness by stage (p99)',
        description:
          'Where the time from a commit in the monolith to its apply here goes: capture (Debezium and Connect to the Kafka record), queued (waiting for the fetch and the batch before), apply (the batch transaction).',
        unit: 's',
        width: 12,
        queries: [{ expr: p99('device_management_cdc_apply_stage_seconds', 'stage'), legend: '{{stage}}' }],
      },
      {
        title: 'Telemetry: readings and projection lag',
        description: 'Readings accepted per second by source, and the p99 from accepted to projected.',
        unit: 'short',
        width: 12,
        queries: [
          { expr: `sum by (source) (${rate('telemetry_readings_accepted_total')})`, legend: 'accepted {{source}} /s' },
          {
            expr: `histogram_quantile(0.99, sum by (le) (${rate('telemetry_projection_lag_seconds_bucket')}))`,
            legend: 'projection lag p99 (s)',
          },
        ],
      },
    ],
  },
];

/** The metric the namespace variable lists its values from. */
export const NAMESPACE_METRIC = 'strangler_route_table_version';

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

/** Grafana's JSON model of the dashboard (schema version 39, Grafana 10/11). */
export function buildDashboard(rows: readonly Row[] = ROWS): Record<string, unknown> {
  const panels: unknown[] = [];
  let id = 1;
  let y = 0;
  for (const row of rows) {
    panels.push({
      id: id++,
      type: 'row',
      title: row.title,
      collapsed: false,
      gridPos: { h: 1, w: 24, x: 0, y },
      panels: [],
    });
    y += 1;
    let x = 0;
    for (const p of row.panels) {
      const w = p.width ?? 8;
      if (x + w > 24) {
        x = 0;
        y += 8;
      }
      panels.push({
        id: id++,
        type: 'timeseries',
        title: p.title,
        description: p.description,
        datasource: DATASOURCE,
        gridPos: { h: 8, w, x, y },
        fieldConfig: {
          defaults: {
            unit: p.unit,
            ...(p.mappings
              ? {
                  mappings: [
                    {
                      type: 'value',
                      options: Object.fromEntries(
                        Object.entries(p.mappings).map(([v, text], index) => [v, { text, index }]),
                      ),
                    },
                  ],
                }
              : {}),
          },
          overrides: [],
        },
        options: {
          legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
          tooltip: { mode: 'multi', sort: 'desc' },
        },
        targets: p.queries.map((q, i) => ({
          refId: String.fromCharCode(65 + i),
          datasource: DATASOURCE,
          expr: q.expr,
          legendFormat: q.legend,
          range: true,
        })),
      });
      x += w;
    }
    y += 8;
  }
  return {
    uid: 'warm-house-migration',
    title: 'Warm House migration',
    description:
      'Strangler proxy, CDC backbone and extracted services (generated from delivery/src/grafana/dashboard.ts).',
    tags: ['warm-house', 'strangler', 'cdc'],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    timezone: 'browser',
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {} },
        {
          name: 'namespace',
          label: 'Namespace',
          type: 'query',
          datasource: DATASOURCE,
          definition: `label_values(${NAMESPACE_METRIC}, namespace)`,
          query: { query: `label_values(${NAMESPACE_METRIC}, namespace)`, refId: 'namespace' },
          refresh: 2,
          includeAll: true,
          allValue: '.*',
          current: {},
        },
      ],
    },
    annotations: { list: [] },
    panels,
  };
}

/** Every PromQL expression of the dashboard, with the panel it belongs to. */
export function dashboardQueries(rows: readonly Row[] = ROWS): Array<{ panel: string; expr: string }> {
  return rows.flatMap((r) => r.panels.flatMap((p) => p.queries.map((q) => ({ panel: p.title, expr: q.expr }))));
}
