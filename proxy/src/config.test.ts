import os from 'node:os';
import { ConfigError } from '@warmhouse/shared';
import { loadProxyConfig, MAX_WORKERS, parseWorkers } from './config';

const base = { PROXY_INSECURE_DEV_ADMIN: 'true' };

function problemsOf(env: NodeJS.ProcessEnv): string {
  try {
    loadProxyConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.join('\n');
  }
  throw new Error('expected a ConfigError');
}

describe('PROXY_WORKERS', () => {
  it('is 1 by default: a single process, no primary', () => {
    expect(loadProxyConfig(base).PROXY_WORKERS).toBe(1);
  });

  it('takes a whole number, or auto / 0 for one worker per CPU', () => {
    const fleet = { ...base, PROXY_CONTROL_DATABASE_URL: 'postgres://strangler:x@127.0.0.1:5432/strangler' };
    expect(loadProxyConfig({ ...fleet, PROXY_WORKERS: '3' }).PROXY_WORKERS).toBe(3);
    expect(loadProxyConfig({ ...fleet, PROXY_WORKERS: 'auto' }).PROXY_WORKERS).toBe(os.availableParallelism());
    expect(loadProxyConfig({ ...fleet, PROXY_WORKERS: '0' }).PROXY_WORKERS).toBe(os.availableParallelism());
    expect(loadProxyConfig({ ...fleet, PROXY_WORKERS: ' AUTO ' }).PROXY_WORKERS).toBe(os.availableParallelism());
  });

  it('refuses more than one process without a control store to share, naming both variables', () => {
    expect(problemsOf({ ...base, PROXY_WORKERS: '2' })).toBe(
      'PROXY_WORKERS: 2 processes need PROXY_CONTROL_DATABASE_URL (the control store they share); without it run one process',
    );
  });

  it.each(['-1', 'two', '1.5', '', String(MAX_WORKERS + 1), '1e2', '0x2'])('refuses %j, naming the variable', (v) => {
    expect(problemsOf({ ...base, PROXY_WORKERS: v })).toMatch(
      new RegExp(
        `^PROXY_WORKERS: must be "auto", 0 \\(one per CPU\\) or a whole number from 1 to ${MAX_WORKERS} \\(got "${v.replace('.', '\\.')}"\\)$`,
        'm',
      ),
    );
  });

  it('resolves auto and 0 against the CPUs given', () => {
    expect(parseWorkers('auto', 8)).toBe(8);
    expect(parseWorkers('0', 2)).toBe(2);
    expect(parseWorkers('auto', 0)).toBe(1);
    expect(parseWorkers('4', 2)).toBe(4);
    expect(parseWorkers(String(MAX_WORKERS), 2)).toBe(MAX_WORKERS);
    expect(parseWorkers('many', 2)).toBeUndefined();
  });
});

describe('PROXY_TRUSTED_PEERS', () => {
  it('is empty by default: no client is trusted', () => {
    expect(loadProxyConfig(base).PROXY_TRUSTED_PEERS.trusts('127.0.0.1')).toBe(false);
  });

  it('takes addresses and CIDR blocks', () => {
    const peers = loadProxyConfig({ ...base, PROXY_TRUSTED_PEERS: '10.0.0.0/8, ::1' }).PROXY_TRUSTED_PEERS;
    expect([peers.trusts('10.9.9.9'), peers.trusts('::1'), peers.trusts('127.0.0.1')]).toEqual([true, true, false]);
  });

  it('refuses a bad entry, naming the variable and the entry', () => {
    expect(problemsOf({ ...base, PROXY_TRUSTED_PEERS: '10.0.0.0/8,gateway.local' })).toMatch(
      /^PROXY_TRUSTED_PEERS: "gateway.local" is not an IPv4 or IPv6 address \(got "10.0.0.0\/8,gateway.local"\)$/m,
    );
  });
});

describe('PROXY_OIDC_*', () => {
  const oidc = { ...base, PROXY_OIDC_ISSUER: 'http://127.0.0.1:9/oidc', PROXY_OIDC_AUDIENCE: 'warm-house-api' };

  it('takes an issuer with its audience; asymmetric algorithms by default', () => {
    const c = loadProxyConfig(oidc);
    expect([c.PROXY_OIDC_ISSUER, c.PROXY_OIDC_AUDIENCE, c.PROXY_OIDC_CLOCK_SKEW_SECONDS]).toEqual([
      'http://127.0.0.1:9/oidc',
      'warm-house-api',
      30,
    ]);
    expect(c.PROXY_OIDC_ALGORITHMS).toContain('RS256');
    expect(c.PROXY_OIDC_ALGORITHMS).not.toContain('HS256');
  });

  it.each([
    [{ ...base, PROXY_OIDC_ISSUER: 'http://i' }, /^PROXY_OIDC_AUDIENCE: not set/m],
    [{ ...base, PROXY_OIDC_AUDIENCE: 'a' }, /^PROXY_OIDC_ISSUER: not set/m],
    [{ ...oidc, PROXY_OIDC_ISSUER: 'not a url' }, /^PROXY_OIDC_ISSUER: /m],
    [{ ...oidc, PROXY_OIDC_ALGORITHMS: 'RS256,HS256' }, /^PROXY_OIDC_ALGORITHMS: must list only asymmetric/m],
    [{ ...oidc, PROXY_OIDC_ALGORITHMS: 'none' }, /^PROXY_OIDC_ALGORITHMS: /m],
    [{ ...oidc, PROXY_OIDC_CLOCK_SKEW_SECONDS: '3600' }, /^PROXY_OIDC_CLOCK_SKEW_SECONDS: /m],
  ])('refuses %j naming the variable', (env, problem) => expect(problemsOf(env)).toMatch(problem));
});
