import { burstOf, TokenBucket } from './budget';

describe('shadow copy budget (token bucket)', () => {
  it('allows the burst at once, then the rate', () => {
    let t = 0;
    const b = new TokenBucket(10, 10, () => t);
    const taken = () => Array.from({ length: 20 }, () => b.take()).filter(Boolean).length;
    expect(taken()).toBe(10);
    t += 500; // half a second: 5 more
    expect(taken()).toBe(5);
    t += 10_000; // never more than the burst saved up
    expect(taken()).toBe(10);
  });

  it('a rate below one a second still lets a copy through now and then', () => {
    let t = 0;
    const b = new TokenBucket(0.5, burstOf(0.5), () => t);
    expect(b.take()).toBe(true);
    expect(b.take()).toBe(false);
    t += 1_000;
    expect(b.take()).toBe(false);
    t += 1_000;
    expect(b.take()).toBe(true);
  });

  it('follows a changed rate without losing what was saved up', () => {
    let t = 0;
    const b = new TokenBucket(100, 100, () => t);
    for (let i = 0; i < 98; i++) b.take();
    b.setRate(1, 1); // 2 saved, capped at the new burst of 1
    expect(b.take()).toBe(true);
    expect(b.take()).toBe(false);
    t += 1_000;
    expect(b.take()).toBe(true);
  });
});
