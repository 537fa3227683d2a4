import { differingBuckets, diffRows, type DriftRow } from './drift';

const r = (id: string, over: Partial<DriftRow> = {}): DriftRow => ({
  id,
  is_on: 'true',
  target_temperature: '21.5',
  current_temperature: '20',
  ...over,
});

describe('diffRows', () => {
  it('names missing, extra and different keys (with the columns), in key order', () => {
    expect(
      diffRows(
        [r('10'), r('2'), r('3', { is_on: 'false' }), r('4')],
        [r('4'), r('3', { target_temperature: '22' }), r('11'), r('10')],
      ),
    ).toEqual([
      { id: '2', kind: 'missing_in_copy' },
      { id: '3', kind: 'different', columns: ['is_on', 'target_temperature'] },
      { id: '11', kind: 'extra_in_copy' },
    ]);
  });

  it('treats NULL in the copy as a difference', () => {
    expect(diffRows([r('1')], [r('1', { is_on: null })])).toEqual([{ id: '1', kind: 'different', columns: ['is_on'] }]);
  });
});

describe('differingBuckets', () => {
  it('flags buckets whose count or checksum differ, or that exist on one side only', () => {
    expect(
      differingBuckets(
        [
          { bucket: '0', n: 3, sum: 'a' },
          { bucket: '1', n: 3, sum: 'b' },
          { bucket: '2', n: 1, sum: 'c' },
          { bucket: '4', n: 1, sum: 'e' },
        ],
        [
          { bucket: '0', n: 3, sum: 'a' },
          { bucket: '1', n: 3, sum: 'B' },
          { bucket: '2', n: 2, sum: 'c' },
          { bucket: '3', n: 1, sum: 'd' },
        ],
      ).sort(),
    ).toEqual(['1', '2', '3', '4']);
  });
});
