import { SLOT } from '../runtime/prepare-source';

/** The arguments `cdc:preflight` takes (the Helm chart's hook Job passes some of them). */
export const PREFLIGHT_FLAGS = ['--apply', '--prepare', '--record-slot', '--allow-active-slot'] as const;

/** A connection URL with its password hidden, for messages. */
export function maskUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

/** The CDC source logins, read from the environment. */
export interface CdcSourceConfig {
  /** the monolith's owner login: creates the publication and the heartbeat table, records what it created */
  setupUrl: string;
  /** the login Debezium uses (REPLICATION); the owner login when not set */
  debeziumUrl: string;
  slot: string;
}

/**
 * Reads MONOLITH_DATABASE_URL, DEBEZIUM_DATABASE_URL and CDC_SLOT_NAME; a problem is one line naming the variable
 * (the password never printed). Pure.
 */
export function readCdcSourceConfig(env: NodeJS.ProcessEnv): { config: CdcSourceConfig } | { error: string } {
  const url = (name: string, required: boolean): string | { error: string } | undefined => {
    const value = env[name];
    if (value === undefined || value === '')
      return required ? { error: `${name} is not set (a postgres:// URL of the monolith database)` } : undefined;
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      return { error: `${name} is not a valid URL (got ${JSON.stringify(maskUrl(value))})` };
    }
    if (!/^postgres(ql)?:$/.test(parsed.protocol) || !parsed.hostname || !parsed.username)
      return {
        error: `${name} must be postgres://user:password@host:port/database (got ${JSON.stringify(maskUrl(value))})`,
      };
    return value;
  };
  const setup = url('MONOLITH_DATABASE_URL', true);
  if (typeof setup === 'object') return setup;
  const debezium = url('DEBEZIUM_DATABASE_URL', false);
  if (typeof debezium === 'object') return debezium;
  const slot = env.CDC_SLOT_NAME ?? SLOT;
  if (!/^[a-z0-9_]{1,63}$/.test(slot))
    return {
      error: `CDC_SLOT_NAME must be lower-case letters, digits and _ (at most 63), got ${JSON.stringify(slot)}`,
    };
  return { config: { setupUrl: setup!, debeziumUrl: debezium ?? setup!, slot } };
}
