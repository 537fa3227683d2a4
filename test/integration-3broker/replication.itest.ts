import { Kafka, logLevel, ConfigResourceTypes } from 'kafkajs';
import { ENDPOINTS_3BROKER_FILE, readTestEndpoints } from '../stack-endpoints';

/** The 3-broker stack replicates everything: CDC topics, Connect's internal topics, consumer offsets. */
describe('3-broker mode: replication settings', () => {
  const endpoints = readTestEndpoints(ENDPOINTS_3BROKER_FILE);
  const admin = new Kafka({
    clientId: 'test-3broker',
    brokers: endpoints.kafka.brokers,
    logLevel: logLevel.NOTHING,
  }).admin();
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it('runs three brokers', async () => {
    const cluster = await admin.describeCluster();
    expect(cluster.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
  });

  it('CDC and Connect internal topics have 3 replicas, all in sync, and need 2 in-sync replicas to acknowledge', async () => {
    const topics = [...Object.values(endpoints.topics), '_connect-configs', '_connect-offsets', '_connect-status'];
    const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
    for (const t of metadata) {
      for (const p of t.partitions) {
        expect({ topic: t.name, replicas: p.replicas.length, isr: p.isr.length }).toEqual({
          topic: t.name,
          replicas: 3,
          isr: 3,
        });
      }
    }
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['min.insync.replicas'],
      })),
    });
    for (const r of configs.resources) {
      expect({ topic: r.resourceName, minIsr: r.configEntries[0]?.configValue }).toEqual({
        topic: r.resourceName,
        minIsr: '2',
      });
    }
  });
});
