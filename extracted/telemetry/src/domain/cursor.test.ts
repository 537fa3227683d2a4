import { decodeCursor, encodeCursor, type HistoryQuery } from './cursor';

const query: HistoryQuery = {
  deviceId: 'd-1',
  metric: 'temperature',
  from: new Date('2026-01-01T00:00:00Z'),
  to: new Date('2026-01-02T00:00:00Z'),
  step: 'raw',
  order: 'asc',
};

describe('history cursors', () => {
  it('carry the keyset position of the same query', () => {
    const cursor = encodeCursor(query, 1767225600123);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(decodeCursor(query, cursor)).toBe(1767225600123);
  });

  it('are refused for another query or when forged', () => {
    const cursor = encodeCursor(query, 5);
    expect(decodeCursor({ ...query, step: '1m' }, cursor)).toBeUndefined();
    expect(decodeCursor({ ...query, deviceId: 'd-2' }, cursor)).toBeUndefined();
    expect(decodeCursor(query, 'abc')).toBeUndefined();
    expect(decodeCursor(query, Buffer.from('5.xxxxxxxxxxxx').toString('base64url'))).toBeUndefined();
  });
});
