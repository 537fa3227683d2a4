import type { DecisionEvidence } from '../plan/evaluate';
import type { PlanCheck } from '../plan/runner';
import { renderTable } from './table';

const pct = (x: number | null | undefined): string =>
  x === null || x === undefined ? '-' : `${(x * 100).toFixed(2)} %`;
const ms = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : `${x.toFixed(2)} ms`);

function evidenceLines(e: DecisionEvidence): string {
  let out = '';
  if (e.shadow) {
    out += renderTable(
      ['COMPARED', 'EQUAL', 'DIFFERENT', 'SERVICE ERRORS', 'AGREEMENT'],
      [
        [e.shadow.compared, e.shadow.equal, e.shadow.different, e.shadow.serviceErrors]
          .map(String)
          .concat(pct(e.shadow.agreement)),
      ],
    );
  }
  if (e.monolith && e.service) {
    out += renderTable(
      ['SIDE', 'REQUESTS', 'ERRORS', 'ERROR RATE', 'P99'],
      [
        [
          'monolith',
          String(e.monolith.requests),
          String(e.monolith.errors),
          pct(e.monolith.errorRate),
          ms(e.monolith.p99Ms),
        ],
        [
          'service',
          String(e.service.requests),
          String(e.service.errors),
          pct(e.service.errorRate),
          ms(e.service.p99Ms),
        ],
      ],
    );
  }
  if (e.limits)
    out += `limits: ${Object.entries(e.limits)
      .map(([k, v]) => `${k} ${v === null ? '-' : Number.isInteger(v) ? v : v.toFixed(4)}`)
      .join(', ')}\n`;
  return out;
}

/** Human-readable dry run of a route's plan (`strangler plan check`). */
export function renderPlanCheck(c: PlanCheck): string {
  const where =
    c.route.mode === 'canary'
      ? `canary ${c.route.weight ?? 0}% to ${c.route.target}`
      : `${c.route.mode} to ${c.route.target}`;
  if (!c.plan) return `${c.routeId}: ${where}; no plan\n`;
  const d = c.decision;
  const steps = [
    c.plan.shadow ? 'shadow' : undefined,
    ...c.plan.canary.filter((w) => w < 100).map((w) => `${w}%`),
    'service',
  ]
    .filter(Boolean)
    .join(' → ');
  return (
    `${c.routeId}: ${where} (monolith ${c.monolith}); plan ${c.plan.status}: ${steps}, dwell ${c.plan.dwellSeconds} s\n` +
    `step: ${d.step} since ${c.stepStartedAt} (${d.evidence.dwellSeconds} s of ${d.evidence.requiredDwellSeconds} s)\n` +
    `now:  ${d.action.toUpperCase()}${d.next ? ` → ${d.next.step}` : ''} — ${d.reason}\n` +
    (c.wouldApply ? 'the proxy applies this on its next evaluation\n' : 'nothing is applied now\n') +
    evidenceLines(d.evidence)
  );
}
