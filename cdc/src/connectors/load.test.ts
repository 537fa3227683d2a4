import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CodedError } from '@warmhouse/shared';
import { loadConnectorConfigs, substitutePlaceholders } from './load';

const REAL_DIR = path.resolve(__dirname, '..', '..', 'connectors');
const ENV = {
  MONOLITH_DB_HOST: 'db.internal',
  MONOLITH_DB_PORT: '5433',
  MONOLITH_DB_NAME: 'smart_home',
  DEBEZIUM_DB_USER: 'debezium',
  DEBEZIUM_DB_PASSWORD: 's3cret',
};

describe('substitutePlaceholders', () => {
  it('fills every ${NAME} in nested strings and leaves other values alone', () => {
    const { value, problems } = substitutePlaceholders(
      { a: 'x-${A}-${B}', list: ['${A}', 3, true, null], nested: { c: '${A}${A}' } },
      { A: '1', B: '' },
    );
    expect(problems).toEqual([]);
    expect(value).toEqual({ a: 'x-1-', list: ['1', 3, true, null], nested: { c: '11' } });
  });

  it('names each unset variable and where it is used', () => {
    const { problems } = substitutePlaceholders(
      { config: { 'database.hostname': '${HOST}', 'database.user': '${USER_X}' } },
      {},
    );
    expect(problems).toEqual([
      'config["database.hostname"]: variable HOST is not set',
      'config["database.user"]: variable USER_X is not set',
    ]);
  });

  it('passes Kafka Connect config-provider references through', () => {
    const { value, problems } = substitutePlaceholders({ p: '${file:/run/secrets/db:password}' }, {});
    expect(problems).toEqual([]);
    expect(value).toEqual({ p: '${file:/run/secrets/db:password}' });
  });
});

describe('loadConnectorConfigs', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'connectors-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const realFile = () =>
    JSON.parse(readFileSync(path.join(REAL_DIR, 'monolith-heating.json'), 'utf8')) as {
      name: string;
      config: Record<string, unknown>;
    };
  const write = (name: string, content: unknown) =>
    writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  const problemsOf = (env: NodeJS.ProcessEnv = ENV): string[] => {
    try {
      loadConnectorConfigs(dir, env);
    } catch (err) {
      expect((err as CodedError).code).toBe('CDC_ERR_CONNECTOR_CONFIG');
      return (err as CodedError).options.details?.problems as string[];
    }
    throw new Error('expected CDC_ERR_CONNECTOR_CONFIG');
  };

  it('loads the real connector file with the lead-fixed settings', () => {
    const [connector, ...rest] = loadConnectorConfigs(REAL_DIR, ENV);
    expect(rest).toEqual([]);
    expect(connector?.name).toBe('monolith-heating');
    expect(connector?.config).toMatchObject({
      'database.hostname': 'db.internal',
      'database.port': '5433',
      'database.dbname': 'smart_home',
      'database.user': 'debezium',
      'database.password': 's3cret',
      'topic.prefix': 'monolith',
      'slot.name': 'warmhouse_monolith',
      'publication.name': 'warmhouse_monolith_pub',
      'publication.autocreate.mode': 'disabled',
      'plugin.name': 'pgoutput',
      'snapshot.mode': 'initial',
      'table.include.list': 'public.heating_systems,public.temperature_sensors,public.cdc_heartbeat',
    });
    expect(connector?.config['heartbeat.action.query']).toMatch(/INTO public\.cdc_heartbeat .* now\(\)/);
    expect(Object.isFrozen(connector?.config)).toBe(true);
  });

  it('reports an unset variable once, not also as a bad value of its field', () => {
    write('monolith-heating.json', realFile());
    const { MONOLITH_DB_PORT: _unset, ...env } = ENV;
    expect(problemsOf(env)).toEqual([
      `${path.join(dir, 'monolith-heating.json')}: config["database.port"]: variable MONOLITH_DB_PORT is not set`,
    ]);
  });

  it('names a missing variable, with the file and the field', () => {
    write('monolith-heating.json', realFile());
    const { DEBEZIUM_DB_PASSWORD: _unset, ...env } = ENV;
    expect(problemsOf(env)).toEqual([
      `${path.join(dir, 'monolith-heating.json')}: config["database.password"]: variable DEBEZIUM_DB_PASSWORD is not set`,
    ]);
  });

  it.each<[string, (c: Record<string, unknown>) => void, string]>([
    ['a wrong plugin', (c) => (c['plugin.name'] = 'decoderbufs'), 'config["plugin.name"]: must be "pgoutput"'],
    ['a missing slot name', (c) => delete c['slot.name'], 'config["slot.name"]: is required'],
    ['an unknown snapshot mode', (c) => (c['snapshot.mode'] = 'sometimes'), 'config["snapshot.mode"]: '],
    [
      'schemas enabled',
      (c) => (c['value.converter.schemas.enable'] = 'true'),
      'config["value.converter.schemas.enable"]: must be "false"',
    ],
    [
      'a port that is no number',
      (c) => (c['database.port'] = '${MONOLITH_DB_NAME}'),
      'config["database.port"]: must be a whole number',
    ],
    ['a non-string value', (c) => (c['heartbeat.interval.ms'] = 10000), 'config["heartbeat.interval.ms"]: '],
    [
      'an unknown non-string extra',
      (c) => (c['snapshot.fetch.size'] = 10),
      'config["snapshot.fetch.size"]: must be a string',
    ],
    ['two tasks', (c) => (c['tasks.max'] = '2'), 'config["tasks.max"]: must be "1"'],
    [
      'a heartbeat query without interval',
      (c) => (c['heartbeat.interval.ms'] = '0'),
      'config["heartbeat.interval.ms"]: must be above 0',
    ],
    [
      'a queue smaller than a batch',
      (c) => (c['max.queue.size'] = '100'),
      'config["max.queue.size"]: must be larger than max.batch.size',
    ],
  ])('rejects %s, naming the field', (_case, mutate, expected) => {
    const file = realFile();
    mutate(file.config);
    write('monolith-heating.json', file);
    const problems = problemsOf();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`monolith-heating.json: ${expected}`);
  });

  it('reports every problem of every file at once', () => {
    const a = realFile();
    a.config['plugin.name'] = 'wal2json';
    delete a.config['database.dbname'];
    write('a.json', a);
    write('b.json', '{ "name": "b", ');
    write('c.json', { name: 'bad name!', config: realFile().config, extra: 1 });
    write('notes.txt', 'ignored');
    const problems = problemsOf();
    expect(problems).toEqual([
      expect.stringMatching(/a\.json: config\["database\.dbname"\]: is required$/),
      expect.stringMatching(/a\.json: config\["plugin\.name"\]: must be "pgoutput"/),
      expect.stringMatching(/b\.json: not valid JSON: /),
      expect.stringMatching(/c\.json: name: may only contain/),
      expect.stringMatching(/c\.json: \(file\): Unrecognized key: "extra"/),
    ]);
  });

  it('rejects two files with the same connector name', () => {
    write('a.json', realFile());
    write('b.json', realFile());
    expect(problemsOf()).toEqual([
      `${path.join(dir, 'b.json')}: name: "monolith-heating" is already used by ${path.join(dir, 'a.json')}`,
    ]);
  });

  it('refuses an empty directory', () => {
    expect(() => loadConnectorConfigs(dir, ENV)).toThrow(/no connector files/);
  });
});
