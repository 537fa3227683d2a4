import { createLogger } from '@warmhouse/shared';
import type { CodedError } from '@warmhouse/shared';
import { closedPort, startFakeConnect, statusOf } from './fake-connect';
import { registerConnector } from './register';
import { registerAllConnectors } from './register-all';
import { DEBEZIUM_POSTGRES_CLASS, type ConnectorConfig } from './schema';
import { waitForConnectorRunning } from './status';
import path from 'node:path';

const logger = createLogger('test', 'silent');
const PLUGINS = [
  { class: 'org.apache.kafka.connect.mirror.MirrorSourceConnector', version: '4.3.0' },
  { class: DEBEZIUM_POSTGRES_CLASS, version: '3.6.3.Final' },
];
const connector = {
  name: 'monolith-heating',
  config: {
    'connector.class': DEBEZIUM_POSTGRES_CLASS,
    'tasks.max': '1',
    'database.hostname': '127.0.0.1',
    'database.port': '5432',
    'plugin.name': 'pgoutput',
  } as unknown as ConnectorConfig,
};

async function caught(promise: Promise<unknown>): Promise<CodedError> {
  try {
    await promise;
  } catch (err) {
    return err as CodedError;
  }
  throw new Error('expected a rejection');
}

describe('registerConnector against a stand-in Connect', () => {
  let connect: Awaited<ReturnType<typeof startFakeConnect>>;
  beforeEach(async () => {
    connect = await startFakeConnect(PLUGINS);
  });
  afterEach(() => connect.close());

  it('creates, then leaves an identical config alone, then updates a changed one', async () => {
    expect(await registerConnector(connect.url, connector, { logger })).toEqual({
      name: 'monolith-heating',
      outcome: 'created',
      pluginVersion: '3.6.3.Final',
    });
    expect(connect.configs.get('monolith-heating')).toEqual({ ...connector.config, name: 'monolith-heating' });

    expect((await registerConnector(connect.url, connector, { logger })).outcome).toBe('unchanged');
    const changed = { ...connector, config: { ...connector.config, 'poll.interval.ms': '10' } };
    expect((await registerConnector(connect.url, changed, { logger })).outcome).toBe('updated');

    const puts = connect.seen.filter((r) => r.method === 'PUT').map((r) => r.path);
    expect(puts).toEqual(['/connectors/monolith-heating/config', '/connectors/monolith-heating/config']);
  });

  it('checks that the Debezium PostgreSQL plugin is loaded before anything else', async () => {
    await connect.close();
    connect = await startFakeConnect([PLUGINS[0]!]);
    const err = await caught(registerConnector(connect.url, connector, { logger }));
    expect(err.code).toBe('CDC_ERR_PLUGIN_MISSING');
    expect(err.message).toContain(
      `has no ${DEBEZIUM_POSTGRES_CLASS} plugin (has: org.apache.kafka.connect.mirror.MirrorSourceConnector)`,
    );
    expect(connect.seen.map((r) => r.method)).toEqual(['GET']);
  });

  it("reports a 4xx rejection with Connect's own message, without retrying", async () => {
    const message = 'Connector configuration is invalid and contains the following 1 error(s):\nslot.name is invalid';
    connect.failNext('PUT', /config$/, { status: 400, body: { error_code: 400, message } });
    const err = await caught(registerConnector(connect.url, connector, { logger }));
    expect(err.code).toBe('CDC_ERR_CONNECT_REJECTED');
    expect(err.retriable).toBe(false);
    expect(err.message).toContain(`answered 400 to PUT /connectors/monolith-heating/config: ${message}`);
    expect(err.options.details).toMatchObject({ status: 400, connectMessage: message });
  });

  it('retries while the worker group rebalances (409)', async () => {
    connect.failNext('PUT', /config$/, {
      status: 409,
      body: {
        error_code: 409,
        message:
          'Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)',
      },
    });
    expect((await registerConnector(connect.url, connector, { logger })).outcome).toBe('created');
    expect(connect.seen.filter((r) => r.method === 'PUT')).toHaveLength(2);
  });

  it('gives up on 5xx after retryForMs with a retriable error', async () => {
    for (let i = 0; i < 10; i++)
      connect.failNext('GET', /^\/connector-plugins$/, { status: 500, body: { error_code: 500, message: 'boom' } });
    const err = await caught(registerConnector(connect.url, connector, { logger, retryForMs: 300 }));
    expect(err.code).toBe('CDC_ERR_CONNECT_FAILED');
    expect(err.retriable).toBe(true);
    expect(err.message).toContain('boom');
  });

  it('names the URL when Connect is not reachable', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const err = await caught(registerConnector(url, connector, { logger }));
    expect(err.code).toBe('CDC_ERR_CONNECT_UNREACHABLE');
    expect(err.message).toMatch(new RegExp(`^Kafka Connect at ${url} is not reachable: .*ECONNREFUSED`));
  });
});

describe('waitForConnectorRunning', () => {
  let connect: Awaited<ReturnType<typeof startFakeConnect>>;
  beforeEach(async () => {
    connect = await startFakeConnect(PLUGINS);
  });
  afterEach(() => connect.close());
  const wait = (timeoutMs = 2_000) =>
    waitForConnectorRunning(connect.url, 'monolith-heating', { timeoutMs, intervalMs: 10 });

  it('waits through 404, UNASSIGNED and a RUNNING connector without tasks until everything runs', async () => {
    connect.setStatuses(
      statusOf('monolith-heating', 'UNASSIGNED'),
      statusOf('monolith-heating', 'RUNNING'),
      statusOf('monolith-heating', 'RUNNING', ['UNASSIGNED']),
      statusOf('monolith-heating', 'RUNNING', ['RUNNING']),
    );
    const status = await wait();
    expect(status.tasks.map((t) => t.state)).toEqual(['RUNNING']);
    expect(connect.seen.filter((r) => r.path.endsWith('/status')).length).toBeGreaterThanOrEqual(4);
  });

  it("fails at once with the failed task's trace", async () => {
    const trace =
      'org.apache.kafka.connect.errors.ConnectException: Unable to create replication slot\n\tat io.debezium...\nCaused by: org.postgresql.util.PSQLException: ERROR: must be superuser or replication role';
    connect.setStatuses(statusOf('monolith-heating', 'RUNNING', ['FAILED', trace]));
    const err = await caught(wait(10_000));
    expect(err.code).toBe('CDC_ERR_CONNECTOR_FAILED');
    expect(err.message).toContain(
      'task 0 FAILED: org.apache.kafka.connect.errors.ConnectException: Unable to create replication slot',
    );
    expect(err.message).toContain('Caused by: org.postgresql.util.PSQLException');
  });

  it('fails at once when an operator paused the connector', async () => {
    connect.setStatuses(statusOf('monolith-heating', 'PAUSED', ['PAUSED']));
    expect((await caught(wait(10_000))).code).toBe('CDC_ERR_CONNECTOR_PAUSED');
  });

  it('times out naming the last state seen', async () => {
    connect.setStatuses(statusOf('monolith-heating', 'RUNNING', ['RESTARTING']));
    const err = await caught(wait(200));
    expect(err.code).toBe('CDC_ERR_CONNECTOR_START_TIMEOUT');
    expect(err.message).toContain('last seen: connector RUNNING, task 0 RESTARTING');
  });
});

describe('registerAllConnectors', () => {
  const env = {
    MONOLITH_DB_HOST: '127.0.0.1',
    MONOLITH_DB_PORT: '5432',
    MONOLITH_DB_NAME: 'smart_home',
    DEBEZIUM_DB_USER: 'debezium',
    DEBEZIUM_DB_PASSWORD: 'pw',
  };
  const dir = path.resolve(__dirname, '..', '..', 'connectors');
  let connect: Awaited<ReturnType<typeof startFakeConnect>>;
  beforeEach(async () => {
    connect = await startFakeConnect(PLUGINS);
  });
  afterEach(() => connect.close());

  it('checks PostgreSQL before talking to Connect, and stops there if it is down', async () => {
    const checkPostgres = jest.fn(async () => {
      throw Object.assign(new Error('PostgreSQL at 127.0.0.1:5432 is not reachable'), {
        code: 'CDC_ERR_POSTGRES_UNREACHABLE',
      });
    });
    const err = await caught(registerAllConnectors({ connectUrl: connect.url, dir, env, logger, checkPostgres }));
    expect(err.code).toBe('CDC_ERR_POSTGRES_UNREACHABLE');
    expect(checkPostgres).toHaveBeenCalledWith({
      host: '127.0.0.1',
      port: 5432,
      database: 'smart_home',
      user: 'debezium',
      password: 'pw',
    });
    expect(connect.seen).toEqual([]);
  });

  it('registers each connector, restarts FAILED parts, and waits for RUNNING', async () => {
    connect.setStatuses(
      statusOf('monolith-heating', 'RUNNING', ['FAILED', 'old failure']),
      statusOf('monolith-heating', 'RUNNING', ['RUNNING']),
    );
    const results = await registerAllConnectors({
      connectUrl: connect.url,
      dir,
      env,
      logger,
      checkPostgres: async () => undefined,
    });
    expect(results).toEqual([expect.objectContaining({ name: 'monolith-heating', outcome: 'created' })]);
    expect(connect.seen.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /connector-plugins',
      'GET /connectors/monolith-heating/config',
      'PUT /connectors/monolith-heating/config',
      'GET /connectors/monolith-heating/status',
      'POST /connectors/monolith-heating/restart?includeTasks=true&onlyFailed=true',
      'GET /connectors/monolith-heating/status',
    ]);
    expect(connect.configs.get('monolith-heating')?.['database.password']).toBe('pw');
  });
});
