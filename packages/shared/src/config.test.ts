import { ConfigError, env, loadConfig } from './config';

describe('loadConfig', () => {
  const shape = { PORT: env.port(), DATABASE_URL: env.postgresUrl(), VERBOSE: env.bool(false) };

  it('returns a frozen, typed object', () => {
    const cfg = loadConfig(shape, { PORT: '8080', DATABASE_URL: 'postgres://x@h/db' });
    expect(cfg).toEqual({ PORT: 8080, DATABASE_URL: 'postgres://x@h/db', VERBOSE: false });
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it('names every bad or missing variable at once', () => {
    let caught: unknown;
    try {
      loadConfig(shape, { PORT: 'eighty', VERBOSE: 'maybe' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems.join('\n');
    expect(problems).toMatch(/^PORT: .*"eighty"/m);
    expect(problems).toMatch(/^DATABASE_URL: .*not set/m);
    expect(problems).toMatch(/^VERBOSE: /m);
  });
});
