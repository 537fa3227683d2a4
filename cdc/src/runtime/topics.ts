import { Kafka, logLevel } from 'kafkajs';

/**
 * Creates the CDC topics before the connector runs, so consumers can subscribe before the first change exists
 * (Debezium would otherwise create a table's topic only with its first event). One partition each: total order
 * per table, as the connector config's `topic.creation.default.partitions` says.
 */
export async function ensureTopics(brokers: string | string[], topics: string[], replicationFactor = 1): Promise<void> {
  const admin = new Kafka({
    clientId: 'stack-topics',
    brokers: typeof brokers === 'string' ? brokers.split(',') : brokers,
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({ topic, numPartitions: 1, replicationFactor })),
      });
    }
  } finally {
    await admin.disconnect();
  }
}
