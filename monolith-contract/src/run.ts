import type { ContractCheck } from './check';
import { CONTRACT_CHECKS } from './checks';
import { resolveContext, type ContractContext } from './config';
import { loadContractDocument } from './document';
import { HeatingApi } from './heating-api';
import { ContractError } from './errors';

export interface CheckOutcome {
  readonly name: string;
  readonly passed: boolean;
  /** the failure, when not passed */
  readonly error?: Error;
}

/**
 * Fails fast with one clear message when the configured heating system cannot be read at all (wrong URL,
 * wrong CONTRACT_HEATING_ID), instead of letting every check fail with the same cause.
 */
export async function preflight(ctx: ContractContext): Promise<void> {
  const resolved = resolveContext(ctx);
  const api = new HeatingApi(resolved, await loadContractDocument());
  const exchange = await api.send('GET', `/api/heating/${resolved.heatingId}`);
  if (exchange.status !== 200) {
    throw new ContractError(
      'CONTRACT_ERR_PRECONDITION',
      `GET ${resolved.baseUrl}/api/heating/${resolved.heatingId} answered ${exchange.status}: the contract needs an ` +
        'existing heating system; set CONTRACT_HEATING_ID to one',
    );
  }
}

/** Runs checks one after the other (they share one heating system) and reports each outcome; never throws. */
export async function runContract(
  ctx: ContractContext,
  checks: readonly ContractCheck[] = CONTRACT_CHECKS,
): Promise<CheckOutcome[]> {
  const outcomes: CheckOutcome[] = [];
  for (const check of checks) {
    try {
      await check.run(ctx);
      outcomes.push({ name: check.name, passed: true });
    } catch (err) {
      outcomes.push({ name: check.name, passed: false, error: err instanceof Error ? err : new Error(String(err)) });
    }
  }
  return outcomes;
}
