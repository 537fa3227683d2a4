import { DEFAULT_BREAKER, type BreakerSettings } from '../../forward/breaker';
import type { TableIssue } from '../issues';
import type { Timeouts, UpstreamSpec } from '../schema';
import type { Part } from './part';

/** An upstream ready for forwarding. */
export interface CompiledUpstream {
  readonly name: string;
  /** `scheme://host:port`, the key of the connection pool. */
  readonly origin: string;
  /** Value of the Host header sent upstream. */
  readonly host: string;
  readonly timeouts: Timeouts;
  readonly maxConnections: number;
  readonly maxBodyBytes: number | undefined;
  readonly breaker: BreakerSettings;
}

/** What compiling an upstream needs besides its spec. */
export interface UpstreamContext {
  /** Issue path prefix of the upstream: `upstreams[1]`. */
  readonly at: string;
  /** Resolves `${VAR}` placeholders in the URL. */
  readonly env: NodeJS.ProcessEnv;
}

const PLACEHOLDER = /\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces `${VAR}` and `${VAR:-default}` from `env`; unset variables without a default are reported. */
export function interpolate(value: string, env: NodeJS.ProcessEnv): { value: string; missing: string[] } {
  const missing: string[] = [];
  const out = value.replace(PLACEHOLDER, (_m, name: string, fallback: string | undefined) => {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    if (fallback !== undefined) return fallback;
    missing.push(name);
    return '';
  });
  return { value: out, missing };
}

/** What is wrong with an upstream's base URL, if anything. */
function urlProblem(url: URL): string | undefined {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be http:// or https://';
  if (url.username || url.password) return 'must not contain credentials';
  if (url.pathname !== '/' || url.search || url.hash) return 'must be a base URL without path, query or fragment';
  return undefined;
}

/** Parses an upstream's URL (placeholders resolved): the URL, or the issue at `path`. */
function parseUrl(raw: string, path: string, env: NodeJS.ProcessEnv): URL | TableIssue {
  const { value, missing } = interpolate(raw, env);
  if (missing.length > 0) return { path, message: `environment variable ${missing.join(', ')} is not set` };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { path, message: `not a valid URL: ${JSON.stringify(value)}` };
  }
  const problem = urlProblem(url);
  return problem ? { path, message: `${problem} (got ${JSON.stringify(value)})` } : url;
}

/** Resolves an upstream's URL and fills in breaker defaults. */
export function compileUpstream(u: UpstreamSpec, ctx: UpstreamContext): Part<CompiledUpstream> {
  const url = parseUrl(u.url, `${ctx.at}.url`, ctx.env);
  if (!(url instanceof URL)) return { value: undefined, issues: [url] };
  const value: CompiledUpstream = {
    name: u.name,
    origin: url.origin,
    host: url.host,
    timeouts: u.timeouts,
    maxConnections: u.maxConnections,
    maxBodyBytes: u.maxBodyBytes,
    breaker: Object.freeze({ ...DEFAULT_BREAKER, ...u.breaker }),
  };
  return { value, issues: [] };
}
