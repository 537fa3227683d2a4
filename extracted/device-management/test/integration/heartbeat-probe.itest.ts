import { Pool } from 'pg';
import { createLogger, waitFor } from '@warmhouse/shared';
import { createHeartbeatProbe } from '../../../../cdc-monitor/src';
import { startService, testEnvironment, type TestEnvironment } from './support';

/** The CDC monitor's heartbeat probe timed through the real device management service and its `/cdc/applied`. */
describe('heartbeat probe timed through device management', () => {
  let env: TestEnvironment;
  let service: Awaited<ReturnType<typeof startService>> | undefined;
  let monolithSu: Pool;
  const rowId = 4242;

  beforeAll(async () => {
    env = await testEnvironment();
    service = await startService(env.env({ WRITE_BACK_ENABLED: 'false' }));
    const url = new URL(env.endpoints.postgres.superuserUrl);
    url.pathname = '/smart_home';
    monolithSu = new Pool({ connectionString: url.toString(), max: 2 });
  });
  afterAll(async () => {
    await service?.stop();
    await monolithSu?.query('DELETE FROM public.cdc_heartbeat WHERE id = $1', [rowId]);
    await monolithSu?.end();
    await env?.close();
  });

  it('reports the probe applied by device management, and unreachable with the probe pending once it stops', async () => {
    const probe = createHeartbeatProbe({
      pool: monolithSu,
      services: [{ name: 'device-management', url: service!.url }],
      logger: createLogger('probe-itest', 'silent'),
      rowId,
      alarmSeconds: 600,
    });
    await probe.probe();
    const applied = await waitFor(
      'device management to apply the probe',
      async () => {
        await probe.poll();
        const s = probe.report().services[0]!;
        return s.pending === 0 ? s : undefined;
      },
      // generous: this can run right after the Connect worker restart test, on a loaded 2-core machine
      { timeoutMs: 120_000 },
    );
    expect(applied).toMatchObject({ reachable: true, error: null, position: { partition: 0 } });
    expect(applied.lastLatencyMs).not.toBeNull();

    await service!.stop();
    service = undefined;
    await probe.probe();
    await probe.poll();
    expect(probe.report().services[0]).toMatchObject({ reachable: false, pending: 1 });
  });
});
