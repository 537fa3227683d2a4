import { readByoMonolith } from './byo';

describe('readByoMonolith', () => {
  it('neither variable: the bundled stand-in', () => {
    expect(readByoMonolith({})).toEqual({ byo: null });
  });

  it('both: the user\u2019s monolith, Debezium logging in as the owner unless told otherwise', () => {
    expect(
      readByoMonolith({ MONOLITH_URL: 'http://legacy:8080/', MONOLITH_DATABASE_URL: 'postgres://m:pw@db/smart_home' }),
    ).toEqual({
      byo: {
        monolithUrl: 'http://legacy:8080',
        source: {
          setupUrl: 'postgres://m:pw@db/smart_home',
          debeziumUrl: 'postgres://m:pw@db/smart_home',
          slot: 'warmhouse_monolith',
        },
      },
    });
  });

  it.each<[string, NodeJS.ProcessEnv, string]>([
    [
      'database without URL',
      { MONOLITH_DATABASE_URL: 'postgres://m@db/x' },
      'MONOLITH_URL is not set (the monolith\u2019s HTTP address; set with MONOLITH_DATABASE_URL)',
    ],
    [
      'URL without database',
      { MONOLITH_URL: 'http://legacy:8080' },
      'MONOLITH_DATABASE_URL is not set (a postgres:// URL of the monolith database)',
    ],
    [
      'not http',
      { MONOLITH_URL: 'legacy:8080', MONOLITH_DATABASE_URL: 'postgres://m@db/x' },
      'MONOLITH_URL must be an http(s):// URL (got "legacy:8080")',
    ],
  ])('%s: one line naming the variable', (_n, env, error) => {
    expect(readByoMonolith(env)).toEqual({ error });
  });
});
