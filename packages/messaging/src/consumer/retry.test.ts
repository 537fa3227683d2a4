import { backoffDelay, sleep } from './retry';

describe('backoffDelay', () => {
  const options = { initialMs: 100, maxMs: 1_000, factor: 2 };
  it.each([
    [1, 0, 50],
    [1, 1, 100],
    [2, 1, 200],
    [3, 0.5, 300],
    [10, 1, 1_000],
    [10, 0, 500],
  ])('attempt %i with random %d waits %i ms', (attempt, random, expected) => {
    expect(backoffDelay(attempt, options, () => random)).toBe(expected);
  });
});

describe('sleep', () => {
  it('ends early, without throwing, when the signal aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const slept = sleep(10_000, controller.signal);
    controller.abort();
    await slept;
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
