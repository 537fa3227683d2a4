import { ProxyMetrics } from './metrics';

describe('strangler_route_plan_status', () => {
  it('reports the plan status of each route with a plan when scraped, and drops routes that lost theirs', async () => {
    const metrics = new ProxyMetrics();
    let plans = [
      { route: 'heating-get', status: 'rolled-back' },
      { route: 'heating-put', status: 'active' },
    ];
    metrics.planStatusSource(() => plans);
    const text = async () => metrics.registry.getSingleMetricAsString('strangler_route_plan_status');
    expect(await text()).toContain('strangler_route_plan_status{route="heating-get",status="rolled-back"} 1');
    expect(await text()).toContain('strangler_route_plan_status{route="heating-put",status="active"} 1');
    plans = [{ route: 'heating-put', status: 'done' }];
    expect(await text()).not.toContain('heating-get');
    expect(await text()).not.toContain('status="active"');
    expect(await text()).toContain('strangler_route_plan_status{route="heating-put",status="done"} 1');
  });
});
