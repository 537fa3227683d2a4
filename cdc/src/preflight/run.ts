import type { Client } from 'pg';
import { connectPostgres, postgresTargetOfUrl } from '../connectors/postgres-check';
import { cdcError } from '../errors';
import type { CdcSourceConfig } from './config';
import { DEFAULT_SOURCE_NAMES, gatherFacts, type CdcSourceNames, type PreflightFacts } from './facts';
import { judgeAll, mayApply, type CheckResult } from './judge';
import { probeReplicationConnection } from './replication-probe';

/** The two logins of a CDC source, connected (one client when both URLs are the same). */
export interface SourceClients {
  setup: Client;
  debeziumUser: string;
  /** the connector's login, for the replication connection probe */
  debeziumUrl: string;
  close(): Promise<void>;
}

/** Logs in with both logins; a failure names the variable and the server ({@link connectPostgres}). */
export async function connectSource(config: CdcSourceConfig, timeoutMs = 5_000): Promise<SourceClients> {
  const login = async (variable: string, url: string) => {
    try {
      return await connectPostgres(postgresTargetOfUrl(url), { timeoutMs });
    } catch (err) {
      throw cdcError('CDC_ERR_POSTGRES_UNREACHABLE', `${variable}: ${(err as Error).message}`, { cause: err });
    }
  };
  const setup = await login('MONOLITH_DATABASE_URL', config.setupUrl);
  const currentUser = async (c: Client) => (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
  let debeziumUser = await currentUser(setup);
  if (config.debeziumUrl !== config.setupUrl) {
    const debezium = await login('DEBEZIUM_DATABASE_URL', config.debeziumUrl).catch(async (err: unknown) => {
      await setup.end().catch(() => undefined);
      throw err;
    });
    debeziumUser = await currentUser(debezium).finally(() => debezium.end().catch(() => undefined));
  }
  return { setup, debeziumUser, debeziumUrl: config.debeziumUrl, close: () => setup.end().catch(() => undefined) };
}

export const namesFor = (config: CdcSourceConfig): CdcSourceNames => ({ ...DEFAULT_SOURCE_NAMES, slot: config.slot });

export interface AppliedFix {
  check: string;
  sql: string;
  error?: string;
}

export interface PreflightOutcome {
  facts: PreflightFacts;
  results: CheckResult[];
  /** with `apply`: every statement run, in order, and its error if it failed */
  applied: AppliedFix[];
}

/**
 * Gathers the facts and judges them; with `apply`, runs the SQL of each ✗ the setup login may run, then judges
 * again (a setting that needs a restart stays ✗ until the server restarts).
 */
export async function runPreflight(
  clients: SourceClients,
  names: CdcSourceNames,
  { apply = false, allowActiveSlot = false } = {},
): Promise<PreflightOutcome> {
  const gather = async () => ({
    ...(await gatherFacts(clients.setup, clients.debeziumUser, names)),
    replicationConnection: await probeReplicationConnection(clients.debeziumUrl),
  });
  const facts = await gather();
  const results = judgeAll(facts, { allowActiveSlot });
  if (!apply) return { facts, results, applied: [] };
  const applied: AppliedFix[] = [];
  for (const r of results) {
    if (r.ok || !r.fix || !mayApply(r.fix, facts)) continue;
    for (const sql of r.fix.sql ?? []) {
      try {
        await clients.setup.query(sql);
        applied.push({ check: r.id, sql });
      } catch (err) {
        applied.push({ check: r.id, sql, error: (err as Error).message });
        break;
      }
    }
  }
  const after = await gather();
  return { facts: after, results: judgeAll(after, { allowActiveSlot }), applied };
}
