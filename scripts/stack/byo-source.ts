import { connectRequest, postgresTargetOfUrl } from '../../cdc/src/connectors';
import { formatReport } from '../../cdc/src/preflight/judge';
import { connectSource, namesFor, runPreflight } from '../../cdc/src/preflight/run';
import { createStackObjects, recordConnectorAndSlot } from '../../cdc/src/preflight/setup';
import type { ByoMonolith } from './byo';
import { MONOLITH_CONNECTOR, registerMonolithConnectors } from './connectors';

/** Runs the CDC preflight against the user's database; any ✗ stops the start with the report (nothing created). */
export async function preflightByoSource(byo: ByoMonolith, log: (line: string) => void): Promise<void> {
  const clients = await connectSource(byo.source);
  try {
    const { results } = await runPreflight(clients, namesFor(byo.source));
    const failed = results.filter((r) => !r.ok);
    if (failed.length > 0) {
      throw new Error(
        `the monolith database is not ready for CDC (nothing was started or created):\n${formatReport(results).join('\n')}`,
      );
    }
    log(`CDC preflight of ${postgresTargetOfUrl(byo.source.setupUrl).database}: ${results.length} checks \u2713`);
  } finally {
    await clients.close();
  }
}

/**
 * Creates in the user's database what the connector needs (heartbeat table, publication — only if absent),
 * records them and, when absent, the slot and the connector for `cdc:teardown`, then registers the connector.
 */
export async function prepareByoSource(
  byo: ByoMonolith,
  connectUrl: string,
  log: (line: string) => void,
): Promise<void> {
  const clients = await connectSource(byo.source);
  try {
    const { facts, results } = await runPreflight(clients, namesFor(byo.source));
    if (results.some((r) => !r.ok)) throw new Error(`CDC preflight failed:\n${formatReport(results).join('\n')}`);
    for (const step of await createStackObjects(clients.setup, facts)) log(step);
    const existing = await connectRequest(connectUrl, 'GET', `/connectors/${MONOLITH_CONNECTOR}`, { accept: [404] });
    await recordConnectorAndSlot(clients.setup, facts, {
      name: MONOLITH_CONNECTOR,
      registered: existing.status !== 404,
    });
  } finally {
    await clients.close();
  }
  await registerMonolithConnectors(connectUrl, postgresTargetOfUrl(byo.source.debeziumUrl), log, byo.source.slot);
}
