import path from 'node:path';
import { migrationArgs, MIGRATIONS_ROOT } from './migrate';

describe('migrationArgs', () => {
  it("waits for another process's migration lock instead of failing (replicas starting together)", () => {
    const args = migrationArgs('telemetry');
    expect(args[0]).toBe('up');
    expect(args.slice(args.indexOf('--advisory-lock-mode'), args.indexOf('--advisory-lock-mode') + 2)).toEqual([
      '--advisory-lock-mode',
      'wait',
    ]);
    expect(args).not.toContain('--no-lock');
    expect(args[args.indexOf('--migrations-dir') + 1]).toBe(path.join(MIGRATIONS_ROOT, 'telemetry'));
  });
});
