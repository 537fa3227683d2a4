import globalSetup from '../global-setup';

/**
 * `node --import tsx test/support/test-stack-child.ts`: runs the integration project's globalSetup in this process,
 * exactly as jest's own process does (TEST_STACK_PORT_BASE chooses the ports and the state folder), prints
 * "test stack ready" and then holds the stack like a jest run in progress, until it is killed. The lifecycle tests
 * use it to kill "jest" without killing the jest that runs them.
 */
globalSetup().then(
  () => {
    process.stdout.write('test stack ready\n');
    setInterval(() => undefined, 60_000);
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
