import { errorMessage } from '@warmhouse/shared';
import { hasCode } from './errors';
import { PREFLIGHT_FLAGS, readCdcSourceConfig } from './preflight/config';
import { formatReport, PREFLIGHT_EXIT } from './preflight/judge';
import { connectSource, namesFor, runPreflight } from './preflight/run';
import { createStackObjects, recordSlotIfAbsent } from './preflight/setup';

const USAGE = `usage: npm run cdc:preflight [-- --apply] [-- --prepare] [-- --record-slot]
  MONOLITH_DATABASE_URL   the monolith database, as its owner login (required)
  DEBEZIUM_DATABASE_URL   the login Debezium uses (default: MONOLITH_DATABASE_URL)
  CDC_SLOT_NAME           the replication slot (default warmhouse_monolith)
  --apply    run the fixes this login is allowed to run, then check again
  --prepare  when every check passes, create the heartbeat table and the publication (recorded for cdc:teardown)
  --allow-active-slot  an active slot of this database passes (the stack's own connector streams from it while
             a release is upgraded); otherwise an active slot is a ✗
  --record-slot  when every check passes and the slot does not exist yet, record it as the stack's (the connector
             creates it; cdc:teardown drops it): for a connector created by others, e.g. the Helm chart's
exit codes: 0 every check passed, 1 a check failed (its fix is printed), 2 bad configuration, 3 database unreachable or login refused`;

/**
 * `npm run cdc:preflight`: is the monolith's PostgreSQL ready for Debezium? One ✓/✗ line per check, with the fix
 * of each ✗. Exit codes in {@link USAGE}.
 */
async function main(argv: string[]): Promise<number> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const fail = (line: string) => process.stderr.write(`cdc:preflight: ${line}\n`);
  const unknown = argv.filter((a) => !(PREFLIGHT_FLAGS as readonly string[]).includes(a));
  if (argv.includes('--help') || unknown.length > 0) {
    (unknown.length > 0 && !argv.includes('--help') ? fail : out)(
      unknown.length > 0 ? `unknown argument ${unknown[0]}\n${USAGE}` : USAGE,
    );
    return argv.includes('--help') ? PREFLIGHT_EXIT.ok : PREFLIGHT_EXIT.config;
  }
  const read = readCdcSourceConfig(process.env);
  if ('error' in read) {
    fail(read.error);
    return PREFLIGHT_EXIT.config;
  }
  let clients;
  try {
    clients = await connectSource(read.config);
  } catch (err) {
    fail(`\u2717 ${errorMessage(err)}`);
    return hasCode(err, 'CDC_ERR_POSTGRES_UNREACHABLE') ? PREFLIGHT_EXIT.unreachable : PREFLIGHT_EXIT.failed;
  }
  try {
    const outcome = await runPreflight(clients, namesFor(read.config), {
      apply: argv.includes('--apply'),
      allowActiveSlot: argv.includes('--allow-active-slot'),
    });
    for (const a of outcome.applied)
      out(`${a.error ? 'could not apply' : 'applied'} (${a.check}): ${a.sql}${a.error ? ` \u2014 ${a.error}` : ''}`);
    for (const line of formatReport(outcome.results)) out(line);
    const failed = outcome.results.filter((r) => !r.ok).length;
    if (failed > 0) {
      out(`${failed} check(s) failed: nothing was created`);
      return PREFLIGHT_EXIT.failed;
    }
    if (argv.includes('--prepare'))
      for (const step of await createStackObjects(clients.setup, outcome.facts)) out(step);
    if (argv.includes('--record-slot'))
      for (const step of await recordSlotIfAbsent(clients.setup, outcome.facts)) out(step);
    return PREFLIGHT_EXIT.ok;
  } catch (err) {
    fail(errorMessage(err));
    return PREFLIGHT_EXIT.failed;
  } finally {
    await clients.close();
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
