import { superviseStack } from './supervisor';

/**
 * The supervisor process of one stack (see supervisor.ts): `node --import tsx supervisor-main.ts <stateDir>`.
 * SIGTERM means "stand down" (the run stopped normally, or a new run on this state folder takes over).
 */
const stateDir = process.argv[2];
const log = (line: string) => process.stdout.write(`${new Date().toISOString()} [supervisor ${process.pid}] ${line}\n`);
process.on('SIGTERM', () => {
  log('standing down (SIGTERM)');
  process.exit(0);
});
process.on('SIGHUP', () => undefined);
if (!stateDir) {
  log('usage: supervisor-main.ts <stateDir>');
  process.exit(2);
}
superviseStack(stateDir, log).then(
  () => process.exit(0),
  (err: unknown) => {
    log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
