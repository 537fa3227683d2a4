import { parser } from '@prometheus-io/lezer-promql';

/** A PromQL expression that does not parse, with the offset of the first error. */
export class PromqlSyntaxError extends Error {
  constructor(
    readonly expr: string,
    readonly at: number,
  ) {
    super(
      `PromQL does not parse at offset ${at}: ${expr.slice(Math.max(0, at - 20), at)}⟨here⟩${expr.slice(at, at + 20)}`,
    );
  }
}

/**
 * The metric names an expression selects (vector and matrix selectors, `{__name__="…"}` too), parsed with the
 * Prometheus project's own PromQL grammar (the one its web UI uses). Throws {@link PromqlSyntaxError}.
 */
export function metricNames(expr: string): string[] {
  const tree = parser.parse(expr);
  const names = new Set<string>();
  const cursor = tree.cursor();
  do {
    if (cursor.type.isError) throw new PromqlSyntaxError(expr, cursor.from);
    if (cursor.type.name !== 'VectorSelector') continue;
    const selector = cursor.node;
    const id = selector.getChild('Identifier');
    if (id) names.add(expr.slice(id.from, id.to));
    const byName = /__name__\s*=\s*"([^"]+)"/.exec(expr.slice(selector.from, selector.to));
    if (byName) names.add(byName[1]!);
  } while (cursor.next());
  return [...names];
}

/** Grafana's interval variables as a fixed duration, so that a panel's query is plain PromQL. */
export function withoutGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, (_m, v: string) => (v === 'range' ? '1h' : '5m'));
}

const SUFFIXES: Record<string, string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

/**
 * The metric names a Prometheus text exposition declares (`# TYPE` lines, with the series names of histograms and
 * summaries) or carries samples of: a labelled metric with no series yet is still declared.
 */
export function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)/.exec(line);
    if (type) {
      for (const suffix of SUFFIXES[type[2]!] ?? ['']) names.add(`${type[1]}${suffix}`);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (sample) names.add(sample[1]!);
  }
  return names;
}
