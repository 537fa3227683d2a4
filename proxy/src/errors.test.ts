import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { problemBody, PROXY_ERRORS, ProxyError, type ProxyErrorCode } from './errors';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sources(full);
    return full.endsWith('.ts') && !full.endsWith('.test.ts') && !full.endsWith('errors.ts') ? [full] : [];
  });
}

describe('PROXY_ERR_* registry', () => {
  const codes = Object.keys(PROXY_ERRORS) as ProxyErrorCode[];

  it('gives every code a PROXY_ERR_ name, an HTTP error status and a message', () => {
    for (const code of codes) {
      expect(code).toMatch(/^PROXY_ERR_[A-Z_]+$/);
      expect(PROXY_ERRORS[code].status).toBeGreaterThanOrEqual(400);
      expect(PROXY_ERRORS[code].message.length).toBeGreaterThan(0);
    }
  });

  it('has no dead codes: each one is raised somewhere in the proxy', () => {
    const text = sources(__dirname)
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    expect(codes.filter((c) => !text.includes(`'${c}'`))).toEqual([]);
  });

  it('builds coded errors and problem bodies (RFC 9457) from the registry', () => {
    const err = new ProxyError('PROXY_ERR_UPSTREAM_TIMEOUT', { details: { routeId: 'r' } });
    expect(err).toMatchObject({ code: 'PROXY_ERR_UPSTREAM_TIMEOUT', status: 504, retriable: true });
    expect(problemBody('PROXY_ERR_UPSTREAM_UNREACHABLE', { route: 'r', upstream: 'u', stage: 'connect' })).toEqual({
      type: 'urn:warmhouse:problem:proxy-err-upstream-unreachable',
      title: 'upstream unreachable',
      status: 502,
      detail: 'upstream unreachable',
      code: 'PROXY_ERR_UPSTREAM_UNREACHABLE',
      route: 'r',
      upstream: 'u',
      stage: 'connect',
    });
  });

  it('puts a detail of its own and the members of details at the top level, never over the standard ones', () => {
    const body = problemBody('PROXY_ERR_VERSION_CONFLICT', {
      message: 'based on 1, the table is at 2',
      requestId: 'req-1',
      details: { expectedVersion: 1, currentVersion: 2, status: 200 },
    });
    expect(body).toEqual({
      type: 'urn:warmhouse:problem:proxy-err-version-conflict',
      title: PROXY_ERRORS.PROXY_ERR_VERSION_CONFLICT.message,
      status: 409,
      detail: 'based on 1, the table is at 2',
      code: 'PROXY_ERR_VERSION_CONFLICT',
      requestId: 'req-1',
      expectedVersion: 1,
      currentVersion: 2,
    });
  });
});
