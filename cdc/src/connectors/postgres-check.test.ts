import type { CodedError } from '@warmhouse/shared';
import { closedPort } from './fake-connect';
import { checkPostgresReachable, postgresTargetOf } from './postgres-check';

describe('checkPostgresReachable', () => {
  it('names PostgreSQL, host and port when nothing answers', async () => {
    const port = await closedPort();
    let err: CodedError | undefined;
    try {
      await checkPostgresReachable(
        { host: '127.0.0.1', port, database: 'smart_home', user: 'debezium', password: 'x' },
        { timeoutMs: 2_000 },
      );
    } catch (e) {
      err = e as CodedError;
    }
    expect(err?.code).toBe('CDC_ERR_POSTGRES_UNREACHABLE');
    expect(err?.retriable).toBe(true);
    expect(err?.message).toMatch(
      new RegExp(
        `^PostgreSQL at 127\\.0\\.0\\.1:${port} \\(database smart_home, user debezium\\) is not reachable: .*ECONNREFUSED`,
      ),
    );
  });

  it('reads the target from a connector config', () => {
    expect(
      postgresTargetOf({
        'database.hostname': 'db',
        'database.port': '5433',
        'database.dbname': 'smart_home',
        'database.user': 'debezium',
        'database.password': 'pw',
      }),
    ).toEqual({ host: 'db', port: 5433, database: 'smart_home', user: 'debezium', password: 'pw' });
  });
});
