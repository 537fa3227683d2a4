/**
 * `npm run grafana:dashboard`: writes the dashboard of dashboard.ts as Grafana JSON to the chart's files/grafana/.
 * `--check` exits 1 when the committed file differs (the unit test does the same).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { DASHBOARD_FILE } from '../paths';
import { buildDashboard } from './dashboard';

/** The file's content: the JSON model, two-space indented, one trailing newline. */
export const dashboardJson = () => JSON.stringify(buildDashboard(), null, 2) + '\n';

if (require.main === module) {
  if (process.argv.includes('--check')) {
    const same = readFileSync(DASHBOARD_FILE, 'utf8') === dashboardJson();
    console.log(same ? `${DASHBOARD_FILE} is up to date` : `${DASHBOARD_FILE} is stale: run npm run grafana:dashboard`);
    process.exit(same ? 0 : 1);
  }
  writeFileSync(DASHBOARD_FILE, dashboardJson());
  console.log(`wrote ${DASHBOARD_FILE}`);
}
