import { spawn } from 'node:child_process';
import path from 'node:path';
import { waitFor } from '@warmhouse/shared';

/** The demo identity provider as a real process, for tests (stopped by its pid). */
export interface IdentityProviderUnderTest {
  readonly issuer: string;
  readonly audience: string;
  /** The secret of the demo clients (`warm-house-web`, `gateway-demo`, `warm-house-dashboard`). */
  readonly clientSecret: string;
  readonly pid: number;
  /** From spawn to the first discovery answer, ms (a figure for the test's log under load). */
  readonly readyMs: number;
  /** An access token of a demo user (password grant) with these scopes. */
  userToken(username: 'alice' | 'bob', scopes: readonly string[]): Promise<string>;
  /** An access token of the gateway client (client credentials). */
  gatewayToken(scopes: readonly string[]): Promise<string>;
  stop(): Promise<void>;
}

const MAIN = path.resolve(__dirname, '..', 'main.ts');
const SECRET = 'test-client-secret-0123456789';

/** Options of {@link startIdentityProvider}. */
export interface StartIdentityProviderOptions {
  /** `inherit`: the provider's output goes to the test's; default: kept (its last lines name a failed start). */
  readonly output?: 'inherit' | 'keep';
  /** Deadline for the first discovery answer (default 90 s: a loaded machine takes a while to load the modules). */
  readonly readyTimeoutMs?: number;
  /** Where the dashboard client may be sent back (`IDP_DASHBOARD_REDIRECT_URIS`): each monitor's `/auth/callback`. */
  readonly dashboardRedirectUris?: readonly string[];
}

/** Each readiness probe at most this long: a port that accepts and never answers must not stall the wait. */
const PROBE_TIMEOUT_MS = 2_000;

/**
 * Starts `src/main.ts` on `port` and waits until its discovery document answers. A provider that exits first (a
 * taken port, a configuration error) fails the start at once with its exit code and its last output lines, rather
 * than after the deadline; each probe is bounded, so a hung listener cannot outlive the deadline either.
 */
export async function startIdentityProvider(
  port: number,
  options: StartIdentityProviderOptions = {},
): Promise<IdentityProviderUnderTest> {
  const startedAt = performance.now();
  const issuer = `http://127.0.0.1:${port}`;
  const audience = 'urn:warm-house:api';
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', MAIN], {
    env: {
      ...process.env,
      IDP_PORT: String(port),
      IDP_CLIENT_SECRET: SECRET,
      IDP_AUDIENCE: audience,
      ...(options.dashboardRedirectUris
        ? { IDP_DASHBOARD_REDIRECT_URIS: options.dashboardRedirectUris.join(',') }
        : {}),
      LOG_LEVEL: 'warn',
    },
    stdio: options.output === 'inherit' ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-4_000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    const outcome = await waitFor(
      `the identity provider to answer at ${issuer}`,
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) return 'exited' as const;
        const res = await fetch(`${issuer}/.well-known/openid-configuration`, {
          signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
        }).catch(() => undefined);
        return res?.ok ? ('ready' as const) : undefined;
      },
      { timeoutMs: options.readyTimeoutMs ?? 90_000, intervalMs: 100 },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; its output: ${output}`);
    });
    if (outcome === 'exited') {
      throw new Error(
        `the identity provider exited (${child.exitCode ?? child.signalCode}) before answering: ${output}`,
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const readyMs = Math.round(performance.now() - startedAt);
  const token = async (client: string, form: Record<string, string>): Promise<string> => {
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${client}:${SECRET}`).toString('base64')}` },
      body: new URLSearchParams(form),
    });
    const body = (await res.json()) as { access_token?: string; error?: string };
    if (!body.access_token) throw new Error(`no token from ${issuer}/token: ${res.status} ${JSON.stringify(body)}`);
    return body.access_token;
  };
  return {
    issuer,
    audience,
    clientSecret: SECRET,
    pid: child.pid!,
    readyMs,
    userToken: (username, scopes) =>
      token('warm-house-web', {
        grant_type: 'password',
        username,
        password: `${username}-demo`,
        scope: scopes.join(' '),
      }),
    gatewayToken: (scopes) => token('gateway-demo', { grant_type: 'client_credentials', scope: scopes.join(' ') }),
    stop,
  };
}
