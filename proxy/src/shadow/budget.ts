/**
 * A token bucket: `ratePerSecond` tokens a second, at most `burst` saved up. Clock injected, no timers: tokens are
 * added when a caller asks. The shadow copy budget of a route (`shadow.copiesPerSecond`) is one of these.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private ratePerSecond: number,
    private burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.at = now();
  }

  /** Follows a changed budget; tokens saved up are kept (up to the new burst). */
  setRate(ratePerSecond: number, burst: number): void {
    this.refill();
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.tokens = Math.min(this.tokens, burst);
  }

  /** Takes one token if there is one. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.at) / 1000) * this.ratePerSecond);
    this.at = t;
  }
}

/** Burst of a route's copy budget: one second's worth, at least one copy. */
export function burstOf(copiesPerSecond: number): number {
  return Math.max(1, copiesPerSecond);
}
