import { maskUrl, readCdcSourceConfig } from './config';

describe('readCdcSourceConfig', () => {
  it('defaults the Debezium login to the owner login and the slot to warmhouse_monolith', () => {
    expect(readCdcSourceConfig({ MONOLITH_DATABASE_URL: 'postgres://m:pw@db:5432/smart_home' })).toEqual({
      config: {
        setupUrl: 'postgres://m:pw@db:5432/smart_home',
        debeziumUrl: 'postgres://m:pw@db:5432/smart_home',
        slot: 'warmhouse_monolith',
      },
    });
  });

  it.each<[string, NodeJS.ProcessEnv, string]>([
    ['unset', {}, 'MONOLITH_DATABASE_URL is not set (a postgres:// URL of the monolith database)'],
    [
      'not a URL',
      { MONOLITH_DATABASE_URL: 'db:5432' },
      'MONOLITH_DATABASE_URL must be postgres://user:password@host:port/database (got "db:5432")',
    ],
    ['garbage', { MONOLITH_DATABASE_URL: '::' }, 'MONOLITH_DATABASE_URL is not a valid URL (got "::")'],
    [
      'another scheme, password hidden',
      { MONOLITH_DATABASE_URL: 'postgres://m:pw@db/x', DEBEZIUM_DATABASE_URL: 'mysql://d:secret@db/x' },
      'DEBEZIUM_DATABASE_URL must be postgres://user:password@host:port/database (got "mysql://d:***@db/x")',
    ],
    [
      'bad slot name',
      { MONOLITH_DATABASE_URL: 'postgres://m@db/x', CDC_SLOT_NAME: 'My-Slot' },
      'CDC_SLOT_NAME must be lower-case letters, digits and _ (at most 63), got "My-Slot"',
    ],
  ])('%s: one line naming the variable', (_n, env, error) => {
    expect(readCdcSourceConfig(env)).toEqual({ error });
  });

  it('masks passwords', () => {
    expect(maskUrl('postgres://u:p%40ss@h:1/d')).toBe('postgres://u:***@h:1/d');
  });
});
