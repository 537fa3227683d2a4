import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { delay, waitFor } from '@warmhouse/shared';
import { TEST_STATE_DIR } from '../../../../test/stack-endpoints';
import { insertHeating, testEnvironment, untilConverged, untilDevice, type TestEnvironment } from './support';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const ENTRY = path.join('extracted', 'device-management', 'src', 'main.ts');

/** device-management as its own process (so it can be killed with SIGKILL), CDC sync only. */
function startProcess(
  env: Record<string, string>,
  logName: string,
): { child: ChildProcess; exited: Promise<number | null> } {
  const logDir = path.join(TEST_STATE_DIR, 'logs');
  mkdirSync(logDir, { recursive: true });
  const log = createWriteStream(path.join(logDir, logName));
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited };
}

describe('kill -9 of the consumer mid-stream', () => {
  let env: TestEnvironment;
  let current: ReturnType<typeof startProcess> | undefined;

  beforeAll(async () => {
    env = await testEnvironment();
  });
  afterAll(async () => {
    if (current && current.child.exitCode === null) {
      current.child.kill('SIGTERM');
      await current.exited;
    }
    await env?.close();
  });

  it('after a restart, device management equals the monolith row for row', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) ids.push(await insertHeating(env.monolith, { target: 20, current: 18 }));
    const processEnv = env.env({
      OUTBOX_RELAY_ENABLED: 'false',
      WRITE_BACK_ENABLED: 'false',
      LOG_LEVEL: 'info',
      SHUTDOWN_GRACE_MS: '2000',
    });
    current = startProcess(processEnv, `dm-crash-${env.suffix}-1.log`);
    await untilConverged(env.db, env.monolith);

    // a stream of changes: 600 updates, some inserts and deletes, written while the consumer is killed
    const last = ids[ids.length - 1] as number;
    let written = 0;
    let done = false;
    const writer = (async () => {
      for (let step = 1; step <= 600; step++) {
        const id = ids[step % ids.length] as number;
        await env.monolith.query(
          'UPDATE heating_systems SET target_temperature = $2, is_on = $3, current_temperature = $4 WHERE id = $1',
          [id, 15 + (step % 20) / 2, step % 3 === 0, 15 + step / 100],
        );
        if (step % 100 === 0) ids.push(await insertHeating(env.monolith, { target: step / 10, current: 17 }));
        if (step % 150 === 0) await env.monolith.query('DELETE FROM heating_systems WHERE id = $1', [ids.shift()]);
        written = step;
        if (step % 10 === 0) await delay(5); // spread the stream over a few seconds
      }
      done = true;
    })();

    // mid-stream: the consumer has applied some of the changes and more are coming
    await untilDevice(env.db, last, 'some of the stream applied', (d) => (d?.current_temperature ?? 0) >= 15.6, 30_000);
    expect(done).toBe(false);
    current.child.kill('SIGKILL');
    expect(await current.exited).toBeNull(); // killed by the signal, no graceful shutdown
    const killedAt = written;

    await waitFor('the writer to get further while the consumer is down', () =>
      written > killedAt + 50 || done ? true : undefined,
    );
    current = startProcess(processEnv, `dm-crash-${env.suffix}-2.log`);
    await writer;
    const rows = await untilConverged(env.db, env.monolith, 90_000);
    expect(rows.length).toBeGreaterThanOrEqual(20);
    const deleted = await env.db.query(
      `SELECT count(*)::int AS n FROM devices WHERE status = 'deleted' AND origin = 'monolith'`,
    );
    expect(deleted.rows[0].n).toBeGreaterThanOrEqual(4);

    current.child.kill('SIGTERM');
    expect(await current.exited).toBe(0); // graceful stop: consumer left the group, offsets committed
  });
});
