import type { Admin } from 'kafkajs';
import { ensureTopics } from './topics';

function fakeAdmin(existing: string[], metadataFailures: string[]) {
  const created: unknown[] = [];
  const admin = {
    listTopics: async () => existing,
    createTopics: async (req: unknown) => {
      created.push(req);
      return true;
    },
    fetchTopicMetadata: async ({ topics }: { topics: string[] }) => {
      const failure = metadataFailures.shift();
      if (failure) throw Object.assign(new Error(failure), { type: failure });
      return { topics: topics.map((name) => ({ name, partitions: [{ partitionId: 0, leader: 2 }] })) };
    },
  } as unknown as Admin;
  return { admin, created };
}

describe('ensureTopics', () => {
  it('creates only the missing topics and waits out brokers that do not know them yet', async () => {
    const { admin, created } = fakeAdmin(['a'], ['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);
    expect(await ensureTopics(admin, [{ topic: 'a' }, { topic: 'b', numPartitions: 3 }])).toEqual(['b']);
    expect(created).toEqual([{ topics: [{ topic: 'b', numPartitions: 3 }], waitForLeaders: false }]);
  });

  it('fails on any other metadata error', async () => {
    const { admin } = fakeAdmin([], ['TOPIC_AUTHORIZATION_FAILED']);
    await expect(ensureTopics(admin, [{ topic: 'a' }])).rejects.toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED' });
  });
});
