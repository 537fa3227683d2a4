import { spawn } from 'node:child_process';
import path from 'node:path';
import { waitFor } from '@warmhouse/shared';

/** The demo identity provider as a real process, for tests (stopped by its pid). */
export interface IdentityProviderUnderTest {
  readonly issuer: string;
  readonly audience: string;
  readonly pid: number;
  /** An access token of a demo user (password grant) with these scopes. */
  userToken(username: 'alice' | 'bob', scopes: readonly string[]): Promise<string>;
  /** An access token of the gateway client (client credentials). */
  gatewayToken(scopes: readonly string[]): Promise<string>;
  stop(): Promise<void>;
}

const MAIN = path.resolve(__dirname, '..', 'main.ts');
const SECRET = 'test-client-secret-0123456789';

/** Starts `src/main.ts` on `port` and waits until its discovery document answers. */
export async function startIdentityProvider(port: number, logFile = 'ignore'): Promise<IdentityProviderUnderTest> {
  const issuer = `http://127.0.0.1:${port}`;
  const audience = 'urn:warm-house:api';
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', MAIN], {
    env: {
      ...process.env,
      IDP_PORT: String(port),
      IDP_CLIENT_SECRET: SECRET,
      IDP_AUDIENCE: audience,
      LOG_LEVEL: 'warn',
    },
    stdio: logFile === 'ignore' ? 'ignore' : ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    await waitFor(
      'the identity provider to answer',
      async () =>
        (await fetch(`${issuer}/.well-known/openid-configuration`).catch(() => undefined))?.ok ? true : undefined,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  } catch (err) {
    await stop();
    throw err;
  }
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
    pid: child.pid!,
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
