import { isAlive } from '../../cdc/src/runtime/processes';
import { testEnvironment as dmEnvironment } from '../../extracted/device-management/test/integration/support';
import { testEnvironment as telemetryEnvironment } from '../../extracted/telemetry/test/integration/support';
import { startServiceProcesses, stopServiceProcesses, type ServiceProcess } from '../support/service-processes';

/** The test-support module itself: N real service processes on their own ports, ready by polling, stopped by pid. */
describe('service processes on the test stack', () => {
  let dm: Awaited<ReturnType<typeof dmEnvironment>>;
  let telemetry: Awaited<ReturnType<typeof telemetryEnvironment>>;
  const started: ServiceProcess[] = [];

  beforeAll(async () => {
    dm = await dmEnvironment();
    telemetry = await telemetryEnvironment();
  });
  afterAll(async () => {
    await stopServiceProcesses(started);
    await dm?.close();
    await telemetry?.close();
  });

  it('starts 2 device-management and 2 telemetry processes, each ready on its own port; SIGKILL and stop by pid', async () => {
    const [dms, tels] = await Promise.all([
      startServiceProcesses({ service: 'device-management', count: 2, prefix: `dm-${dm.suffix}`, env: () => dm.env() }),
      startServiceProcesses({
        service: 'telemetry',
        count: 2,
        prefix: `tel-${telemetry.suffix}`,
        env: () => telemetry.env(),
      }),
    ]);
    started.push(...dms, ...tels);
    expect(new Set(started.map((p) => p.port)).size).toBe(4);
    for (const p of started) {
      const res = await fetch(`${p.url}/health/ready`);
      expect(res.status).toBe(200);
    }

    const victim = dms[0]!;
    await victim.kill();
    expect(await victim.exited).toBeNull(); // killed by the signal
    expect(isAlive(victim.pid)).toBe(false);
    expect((await fetch(`${dms[1]!.url}/health/live`)).status).toBe(200);

    await stopServiceProcesses(started);
    for (const p of started) expect(p.alive()).toBe(false);
    expect(await tels[0]!.exited).toBe(0); // graceful stop
  });
});
