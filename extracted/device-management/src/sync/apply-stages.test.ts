import { applyStagesOf } from './apply-stages';

describe('applyStagesOf', () => {
  const batch = { startedMs: 1_000_030, committedMs: 1_000_040 };
  test.each([
    [
      'all three stages',
      { sourceTsMs: 1_000_000, recordTsMs: 1_000_012 },
      { capture: 0.012, queued: 0.018, apply: 0.01 },
    ],
    ['no record timestamp: queued from the source commit', { sourceTsMs: 1_000_000 }, { queued: 0.03, apply: 0.01 }],
    [
      'a record timestamp that is not a number',
      { sourceTsMs: 1_000_000, recordTsMs: NaN },
      { queued: 0.03, apply: 0.01 },
    ],
    [
      'clock skew: negative differences count as 0',
      { sourceTsMs: 1_000_020, recordTsMs: 1_000_010 },
      { capture: 0, queued: 0.02, apply: 0.01 },
    ],
  ])('%s', (_name, change, expected) => {
    expect(applyStagesOf(change, batch)).toEqual(expected);
  });

  test('the stages add up to source commit → apply committed', () => {
    const s = applyStagesOf({ sourceTsMs: 1_000_000, recordTsMs: 1_000_007 }, batch);
    expect((s.capture ?? 0) + s.queued + s.apply).toBeCloseTo(0.04, 9);
  });
});
