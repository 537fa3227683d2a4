import { CircuitBreaker, CircuitBreakers, type BreakerState } from './breaker';

describe('CircuitBreaker', () => {
  let now = 0;
  const seen: BreakerState[] = [];
  const make = () =>
    new CircuitBreaker(
      { failures: 3, openMs: 1_000 },
      () => now,
      (s) => seen.push(s),
    );
  beforeEach(() => {
    now = 0;
    seen.length = 0;
  });

  it('opens after N consecutive failures, refuses while open, lets one probe through after openMs, closes on its success', () => {
    const b = make();
    b.failure();
    b.failure();
    b.success(); // resets the count
    b.failure();
    b.failure();
    expect(b.state).toBe('closed');
    b.failure();
    expect(b.state).toBe('open');
    expect(b.admit()).toBe('refuse');
    now = 400;
    expect(b.retryAfterSeconds()).toBe(1);
    now = 1_000;
    expect(b.admit()).toBe('probe');
    expect(b.state).toBe('half-open');
    expect(b.admit()).toBe('refuse'); // one probe at a time
    b.success();
    expect(b.state).toBe('closed');
    expect(b.admit()).toBe('pass');
    expect(seen).toEqual(['open', 'half-open', 'closed']);
  });

  it('a failed probe opens the circuit again for another openMs; a probe whose client left frees the slot', () => {
    const b = make();
    for (let i = 0; i < 3; i++) b.failure();
    now = 1_000;
    expect(b.admit()).toBe('probe');
    b.failure();
    expect(b.state).toBe('open');
    now = 1_500;
    expect(b.admit()).toBe('refuse');
    now = 2_000;
    expect(b.admit()).toBe('probe');
    b.release(true);
    expect(b.admit()).toBe('probe');
    expect(seen).toEqual(['open', 'half-open', 'open', 'half-open']);
  });

  it('a late success of a request started before the circuit opened does not close it', () => {
    const b = make();
    for (let i = 0; i < 3; i++) b.failure();
    b.success();
    expect(b.state).toBe('open');
  });

  it('one breaker per upstream, kept across settings changes', () => {
    const all = new CircuitBreakers(() => now);
    const a = all.get('dm', { failures: 1, openMs: 10 });
    a.failure();
    expect(all.get('dm', { failures: 2, openMs: 10 })).toBe(a);
    expect(all.snapshot()).toEqual({
      dm: { state: 'open', transitions: { closed: 0, open: 1, 'half-open': 0 } },
    });
  });
});
