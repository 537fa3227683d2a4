import type { OutboxRow } from '../data/outbox-repository';
import { topicRuns } from './relay';

const row = (id: string, topic: string | null) => ({ id, topic }) as OutboxRow;

describe('outbox relay topic runs', () => {
  it('groups consecutive rows by topic, keeps id order, sends rows without a topic to the default', () => {
    const runs = topicRuns(
      [row('1', null), row('2', null), row('3', 'saga'), row('4', null), row('5', 'saga'), row('6', 'saga')],
      'events',
    );
    expect(runs.map((r) => `${r.topic}:${r.rows.map((x) => x.id).join(',')}`)).toEqual([
      'events:1,2',
      'saga:3',
      'events:4',
      'saga:5,6',
    ]);
  });

  it('has no run for no rows', () => {
    expect(topicRuns([], 'events')).toEqual([]);
  });
});
