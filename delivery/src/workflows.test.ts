import { REPO_ROOT } from './paths';
import {
  integrationLocations,
  jestProjects,
  uncoveredLocations,
  workflowJestRuns,
  type JestRun,
} from './ci/workflow-coverage';

// Every integration test location must be run by a GitHub workflow: a folder that only `npm test` runs goes
// unnoticed when it breaks on a branch (cdc/test/integration, the contract self-test and the AsyncAPI message test
// once were such folders).
describe('GitHub workflows run every test folder', () => {
  const projects = jestProjects(REPO_ROOT);
  const runs = workflowJestRuns(REPO_ROOT);
  const locations = integrationLocations(REPO_ROOT);

  it('finds the integration locations and the jest runs of the workflows', () => {
    expect([...locations.keys()]).toEqual(
      expect.arrayContaining([
        'cdc/test/integration',
        'cdc-monitor/test/integration',
        'monolith-contract/test/integration',
        'proxy/test/integration',
        'test/integration',
        'test/integration-3broker',
      ]),
    );
    const byWorkflow = (where: string) => runs.filter((r) => r.where === where);
    // the reusable component pipeline, expanded with its caller's inputs
    expect(byWorkflow('proxy.yml/pipeline')).toEqual(
      expect.arrayContaining([expect.objectContaining({ projects: ['integration'], patterns: ['proxy/'] })]),
    );
    // npm run test:integration-3broker, expanded from package.json
    expect(byWorkflow('kafka-resilience.yml/broker-loss')).toEqual([
      expect.objectContaining({ projects: ['integration-3broker'], patterns: [] }),
    ]);
  });

  it('every integration test folder and *.itest.ts location is run by at least one workflow', () => {
    expect(uncoveredLocations(locations, runs, projects, REPO_ROOT)).toEqual({});
  });

  it('the check is not vacuous: a folder no workflow names is reported, and so is a dropped workflow', () => {
    const extra = new Map(locations).set('newcomponent/test/integration', ['newcomponent/test/integration/a.itest.ts']);
    expect(Object.keys(uncoveredLocations(extra, runs, projects, REPO_ROOT))).toEqual([
      'newcomponent/test/integration',
    ]);
    // cdc/ is run by backbone.yml and by the CDC monitor's pipeline, cdc-monitor/ by the latter
    const withoutBackbone = runs.filter((r) => !/^(backbone|cdc-monitor)\.yml\//.test(r.where));
    expect(Object.keys(uncoveredLocations(locations, withoutBackbone, projects, REPO_ROOT))).toEqual([
      'cdc-monitor/test/integration',
      'cdc/test/integration',
      'test/integration',
    ]);
    // a bare test/integration/ pattern would run every folder; the root one is named by absolute path instead
    const bare: JestRun = { where: 'x', projects: ['integration'], patterns: ['test/integration/'], flags: [] };
    expect(uncoveredLocations(locations, [bare], projects, REPO_ROOT)).not.toHaveProperty('proxy/test/integration');
  });

  it('no integration run passes with no tests: a path that matches nothing fails the run', () => {
    const integration = runs.filter((r) => r.projects.some((p) => p.startsWith('integration')));
    expect(integration.filter((r) => r.flags.includes('--passWithNoTests')).map((r) => r.where)).toEqual([]);
  });

  it('the unit and process projects run in every component pipeline, the delivery tests of both in delivery.yml', () => {
    for (const wf of ['proxy', 'device-management', 'telemetry', 'monolith-standin']) {
      const mine = runs.filter((r) => r.where === `${wf}.yml/pipeline`);
      expect(mine.filter((r) => r.patterns.length === 0).map((r) => r.projects)).toEqual(
        expect.arrayContaining([['unit'], ['process']]),
      );
    }
    const delivery = runs.filter((r) => r.where === 'delivery.yml/check');
    expect(delivery).toEqual([expect.objectContaining({ projects: ['unit', 'process'], patterns: ['delivery/'] })]);
  });
});
