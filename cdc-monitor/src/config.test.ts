import { ConfigError } from '@warmhouse/shared';
import { loadMonitorConfig } from './config';

const ENV = {
  CONNECT_URL: 'http://127.0.0.1:8083',
  MONOLITH_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/smart_home',
  KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9093',
  MONITOR_TOKEN: '0123456789abcdef',
};

describe('loadMonitorConfig', () => {
  it('applies the defaults and splits the lists', () => {
    expect(loadMonitorConfig({ ...ENV, CONSUMER_GROUPS: 'device-management-sync, telemetry' })).toMatchObject({
      CONNECTORS: ['monolith-heating'],
      REPLICATION_SLOTS: ['warmhouse_monolith'],
      KAFKA_BROKERS: ['127.0.0.1:9092', '127.0.0.1:9093'],
      CONSUMER_GROUPS: ['device-management-sync', 'telemetry'],
      MONITOR_PORT: 9470,
      DRIFT_INTERVAL_SECONDS: 0,
    });
    expect(loadMonitorConfig(ENV).CONSUMER_GROUPS).toEqual([]);
    expect(loadMonitorConfig(ENV).DEVICE_MANAGEMENT_DATABASE_URL).toBeUndefined();
  });

  it('reports every bad variable at once', () => {
    let problems: string[] = [];
    try {
      loadMonitorConfig({ ...ENV, CONNECT_URL: 'nope', MONITOR_TOKEN: 'short', MONOLITH_DATABASE_URL: undefined });
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems.map((p) => p.split(':')[0])).toEqual(['CONNECT_URL', 'MONOLITH_DATABASE_URL', 'MONITOR_TOKEN']);
  });

  it('parses the services the heartbeat probe times, and names every bad entry', () => {
    expect(
      loadMonitorConfig({
        ...ENV,
        CDC_MONITOR_SERVICES: 'device-management=http://127.0.0.1:17081/, telemetry=http://127.0.0.1:17082',
      }).CDC_MONITOR_SERVICES,
    ).toEqual([
      { name: 'device-management', url: 'http://127.0.0.1:17081' },
      { name: 'telemetry', url: 'http://127.0.0.1:17082' },
    ]);
    expect(loadMonitorConfig(ENV).CDC_MONITOR_SERVICES).toEqual([]);
    expect(loadMonitorConfig(ENV).CDC_PROBE_ROW_ID).toBe(2);
    let problems: string[] = [];
    try {
      loadMonitorConfig({
        ...ENV,
        CDC_MONITOR_SERVICES: 'Bad Name=http://x, telemetry=ftp://x, a=http://h, a=http://h2',
        CDC_PROBE_ROW_ID: '1',
      });
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems).toHaveLength(4);
    expect(problems.filter((p) => p.startsWith('CDC_MONITOR_SERVICES'))).toEqual([
      expect.stringContaining('"Bad Name=http://x"'),
      expect.stringContaining('"ftp://x" is not an http(s) URL'),
      expect.stringContaining('"a" is listed twice'),
    ]);
    expect(problems.find((p) => p.startsWith('CDC_PROBE_ROW_ID'))).toContain('Debezium');
  });
});
