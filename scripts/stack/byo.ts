import { readCdcSourceConfig, type CdcSourceConfig } from '../../cdc/src/preflight/config';

/** Bring-your-own monolith: its HTTP address and its database logins. */
export interface ByoMonolith {
  monolithUrl: string;
  source: CdcSourceConfig;
}

/**
 * Pure: `npm start`'s monolith from the environment. Neither MONOLITH_URL nor MONOLITH_DATABASE_URL set: the
 * bundled stand-in (null). One without the other, or a malformed one: an error naming the variable.
 */
export function readByoMonolith(env: NodeJS.ProcessEnv): { byo: ByoMonolith | null } | { error: string } {
  const http = env.MONOLITH_URL;
  if (!http && !env.MONOLITH_DATABASE_URL) return { byo: null };
  if (!http)
    return { error: 'MONOLITH_URL is not set (the monolith\u2019s HTTP address; set with MONOLITH_DATABASE_URL)' };
  let parsed: URL | undefined;
  try {
    parsed = new URL(http);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !/^https?:$/.test(parsed.protocol))
    return { error: `MONOLITH_URL must be an http(s):// URL (got ${JSON.stringify(http)})` };
  const source = readCdcSourceConfig(env);
  if ('error' in source) return source;
  return { byo: { monolithUrl: http.replace(/\/+$/, ''), source: source.config } };
}
