import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '@warmhouse/shared';
import { isAlive } from './processes';
import { isLauncher } from './supervisor';

const TSX = path.resolve(__dirname, '..', '..', '..', 'node_modules', '.bin', 'tsx');
const FIXTURE = path.join(__dirname, 'supervisor.fixture.ts');

/** Starts the fixture run under tsx's launcher; resolves with its pids once it has started its child. */
async function startRun() {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'supervisor-'));
  const launcher = spawn(TSX, [FIXTURE, stateDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    launcher.stdout.once('data', (d: Buffer) => resolve(String(d)));
    launcher.once('exit', (code) => reject(new Error(`fixture exited with ${code}`)));
  });
  const pids = JSON.parse(line) as { owners: number[]; child: number; supervisor: number };
  return { stateDir, launcher, ...pids };
}

const supervisorLog = (stateDir: string) =>
  existsSync(path.join(stateDir, 'supervisor.log')) ? readFileSync(path.join(stateDir, 'supervisor.log'), 'utf8') : '';

describe('stack supervisor', () => {
  jest.setTimeout(90_000);

  it('recognises the launchers of a run (npm, sh -c tsx, tsx) and nothing else', () => {
    expect(isLauncher('npm start')).toBe(true);
    expect(isLauncher('npm exec tsx bench/cdc-freshness.ts')).toBe(true);
    expect(isLauncher('sh -c tsx scripts/stack/start.ts')).toBe(true);
    expect(isLauncher('node /repo/node_modules/.bin/tsx scripts/stack/start.ts')).toBe(true);
    expect(isLauncher('bash')).toBe(false);
    expect(isLauncher('sh -c jest --selectProjects integration')).toBe(false);
    expect(isLauncher('node /repo/node_modules/.bin/jest --selectProjects integration')).toBe(false);
  });

  it('stops the recorded children and the rest of the run when the launcher above the run is SIGKILLed', async () => {
    const run = await startRun();
    expect(run.owners).toHaveLength(2); // the node process running the fixture, and tsx's launcher above it
    expect(run.owners[1]).toBe(run.launcher.pid);
    run.launcher.kill('SIGKILL');
    await waitFor(
      'the run, its child and the supervisor to be gone',
      () => ([run.owners[0]!, run.child, run.supervisor].some(isAlive) ? undefined : true),
      { timeoutMs: 30_000, intervalMs: 200 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nsupervisor log:\n${supervisorLog(run.stateDir)}`);
    });
    expect(supervisorLog(run.stateDir)).toContain(`pid ${run.launcher.pid}`);
  });

  it('stops the recorded children when the process that started them is SIGKILLed', async () => {
    const run = await startRun();
    process.kill(run.owners[0]!, 'SIGKILL');
    await waitFor(
      'the child and the supervisor to be gone',
      () => ([run.child, run.supervisor].some(isAlive) ? undefined : true),
      { timeoutMs: 30_000, intervalMs: 200 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nsupervisor log:\n${supervisorLog(run.stateDir)}`);
    });
    expect(JSON.parse(readFileSync(path.join(run.stateDir, 'pids.json'), 'utf8'))).toEqual({});
  });
});
