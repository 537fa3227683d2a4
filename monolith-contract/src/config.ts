import { ConfigError } from '@warmhouse/shared';

/** What every check receives. Only `baseUrl` is required; the rest have the defaults below. */
export interface ContractContext {
  /** Origin of the implementation under test, e.g. `http://127.0.0.1:8080`; paths are absolute from its root. */
  readonly baseUrl: string;
  /** Injected `fetch` (tests record or rewrite traffic with it); defaults to the global one. */
  readonly fetch?: typeof fetch;
  /** An existing heating system the checks read and temporarily change (restored afterwards). Default `1`. */
  readonly heatingId?: string | number | bigint;
  /** An id that does not exist, for the 500 cases. Default `999999999`. */
  readonly missingId?: string | number | bigint;
  /** Per-request timeout in milliseconds. Default 10000. */
  readonly timeoutMs?: number;
}

/** A context with every default applied and validated. */
export interface ResolvedContext {
  readonly baseUrl: string;
  readonly fetch: typeof fetch;
  readonly heatingId: string;
  readonly missingId: string;
  readonly timeoutMs: number;
}

export const DEFAULT_HEATING_ID = '1';
export const DEFAULT_MISSING_ID = '999999999';
const DEFAULT_TIMEOUT_MS = 10_000;

/** A Java `long` as the monolith's `{id}` path variable accepts it. */
const LONG = /^-?(?:0|[1-9]\d{0,18})$/;
const isLong = (text: string) => LONG.test(text) && BigInt(text) <= 2n ** 63n - 1n && BigInt(text) >= -(2n ** 63n);

function checkBaseUrl(value: string | undefined, name: string, problems: string[]): string {
  if (value === undefined || value.trim() === '') {
    problems.push(`${name}: required: the base URL of the implementation under test, e.g. http://127.0.0.1:8080`);
    return '';
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${name}: not a URL (got ${JSON.stringify(value)})`);
    return '';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    problems.push(`${name}: must be an http:// or https:// URL (got ${JSON.stringify(value)})`);
  }
  if (url.search || url.hash)
    problems.push(`${name}: must not have a query or fragment (got ${JSON.stringify(value)})`);
  return value.replace(/\/+$/, '');
}

function checkId(value: string | number | bigint | undefined, fallback: string, name: string, problems: string[]) {
  const text = value === undefined || value === '' ? fallback : String(value).trim();
  if (!isLong(text))
    problems.push(`${name}: must be a whole number in Java's long range (got ${JSON.stringify(text)})`);
  return text;
}

/** Applies defaults and validates, reporting every problem at once; names are the environment variables. */
export function resolveContext(ctx: ContractContext): ResolvedContext {
  const problems: string[] = [];
  const baseUrl = checkBaseUrl(ctx.baseUrl, 'CONTRACT_BASE_URL', problems);
  const heatingId = checkId(ctx.heatingId, DEFAULT_HEATING_ID, 'CONTRACT_HEATING_ID', problems);
  const missingId = checkId(ctx.missingId, DEFAULT_MISSING_ID, 'CONTRACT_MISSING_ID', problems);
  if (heatingId === missingId)
    problems.push(`CONTRACT_MISSING_ID: must differ from CONTRACT_HEATING_ID (both ${heatingId})`);
  const timeoutMs = ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    problems.push(`timeoutMs: must be a positive number (got ${timeoutMs})`);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ baseUrl, fetch: ctx.fetch ?? globalThis.fetch, heatingId, missingId, timeoutMs });
}

/**
 * The contract's configuration from the environment: `CONTRACT_BASE_URL` (required), `CONTRACT_HEATING_ID`
 * (an existing heating system, default 1), `CONTRACT_MISSING_ID` (an id that does not exist, default 999999999).
 * Throws a ConfigError (`CONFIG_ERR_INVALID`) listing every problem.
 */
export function contractContextFromEnv(env: NodeJS.ProcessEnv = process.env): ResolvedContext {
  return resolveContext({
    baseUrl: env.CONTRACT_BASE_URL ?? '',
    heatingId: env.CONTRACT_HEATING_ID,
    missingId: env.CONTRACT_MISSING_ID,
  });
}
