import { ConfigError } from '@warmhouse/shared';
import { contractContextFromEnv, resolveContext } from './config';

describe('contract configuration', () => {
  it('applies the defaults and strips a trailing slash', () => {
    const ctx = contractContextFromEnv({ CONTRACT_BASE_URL: 'http://127.0.0.1:8080/' });
    expect(ctx).toMatchObject({
      baseUrl: 'http://127.0.0.1:8080',
      heatingId: '1',
      missingId: '999999999',
      timeoutMs: 10000,
    });
    expect(ctx.fetch).toBe(globalThis.fetch);
    expect(Object.isFrozen(ctx)).toBe(true);
  });

  it('reads CONTRACT_HEATING_ID and CONTRACT_MISSING_ID', () => {
    const ctx = contractContextFromEnv({
      CONTRACT_BASE_URL: 'https://proxy.example:8443',
      CONTRACT_HEATING_ID: '4',
      CONTRACT_MISSING_ID: '9223372036854775807',
    });
    expect(ctx).toMatchObject({ heatingId: '4', missingId: '9223372036854775807' });
  });

  it('reports every problem at once, naming the variable', () => {
    let error: unknown;
    try {
      contractContextFromEnv({ CONTRACT_HEATING_ID: 'abc', CONTRACT_MISSING_ID: '9223372036854775808' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('CONFIG_ERR_INVALID');
    expect((error as ConfigError).problems).toEqual([
      expect.stringMatching(/^CONTRACT_BASE_URL: required/),
      expect.stringMatching(/^CONTRACT_HEATING_ID: must be a whole number/),
      expect.stringMatching(/^CONTRACT_MISSING_ID: must be a whole number/),
    ]);
  });

  it.each([
    [{ baseUrl: 'localhost:8080' }, /CONTRACT_BASE_URL: must be an http/],
    [{ baseUrl: 'not a url' }, /CONTRACT_BASE_URL: not a URL/],
    [{ baseUrl: 'http://x/?a=1' }, /CONTRACT_BASE_URL: must not have a query/],
    [{ baseUrl: 'http://x', heatingId: 7, missingId: 7 }, /CONTRACT_MISSING_ID: must differ/],
    [{ baseUrl: 'http://x', heatingId: '007' }, /CONTRACT_HEATING_ID: must be a whole number/],
    [{ baseUrl: 'http://x', timeoutMs: 0 }, /timeoutMs: must be a positive number/],
  ])('rejects %j', (ctx, message) => {
    expect(() => resolveContext(ctx)).toThrow(message);
  });

  it('accepts ids as numbers and bigints', () => {
    expect(resolveContext({ baseUrl: 'http://x', heatingId: 2, missingId: 10n ** 15n })).toMatchObject({
      heatingId: '2',
      missingId: '1000000000000000',
    });
  });
});
