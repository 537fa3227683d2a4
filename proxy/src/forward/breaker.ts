/** Circuit breaker settings of an upstream. */
export interface BreakerSettings {
  /** Consecutive failures that open the circuit. */
  readonly failures: number;
  /** How long the circuit stays open before one probe request is let through (half-open). */
  readonly openMs: number;
}

/** `closed`: requests pass. `open`: none pass. `half-open`: one probe passes; its outcome closes or reopens. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** What {@link CircuitBreaker.admit} allows for one request. */
export type Admission = 'pass' | 'probe' | 'refuse';

/**
 * Per-upstream circuit breaker (consecutive failures → open; after `openMs` one probe → closed on success,
 * open again on failure). Clock injected; no timers: the state moves when requests ask.
 */
export class CircuitBreaker {
  private stateNow: BreakerState = 'closed';
  private consecutive = 0;
  private openedAt = 0;
  private probing = false;
  /** Number of transitions into each state, for tests and the admin API. */
  readonly transitions: Record<BreakerState, number> = { closed: 0, open: 0, 'half-open': 0 };

  constructor(
    public settings: BreakerSettings,
    private readonly now: () => number = () => performance.now(),
    private readonly onTransition: (state: BreakerState) => void = () => {},
  ) {}

  get state(): BreakerState {
    return this.stateNow;
  }

  /** Whether a request may go to the upstream now (`probe`: it is the half-open probe; report its outcome). */
  admit(): Admission {
    if (this.stateNow === 'closed') return 'pass';
    if (this.stateNow === 'open') {
      if (this.now() - this.openedAt < this.settings.openMs) return 'refuse';
      this.move('half-open');
    }
    if (this.probing) return 'refuse';
    this.probing = true;
    return 'probe';
  }

  /** Seconds until the next probe may pass (for `Retry-After`), at least 1. */
  retryAfterSeconds(): number {
    const left = this.stateNow === 'open' ? this.settings.openMs - (this.now() - this.openedAt) : 0;
    return Math.max(1, Math.ceil(left / 1000));
  }

  /** A request admitted earlier succeeded; a success that started before the circuit opened changes nothing. */
  success(): void {
    this.probing = false;
    if (this.stateNow === 'open') return;
    this.consecutive = 0;
    if (this.stateNow === 'half-open') this.move('closed');
  }

  /** A request admitted earlier failed (connect error, timeout, 5xx, a status the route lists). */
  failure(): void {
    this.consecutive++;
    this.probing = false;
    if (this.stateNow === 'half-open') this.open();
    else if (this.stateNow === 'closed' && this.consecutive >= this.settings.failures) this.open();
  }

  /** The request ended without saying anything about the upstream (client went away): free the probe slot. */
  release(probe: boolean): void {
    if (probe) this.probing = false;
  }

  private open(): void {
    this.openedAt = this.now();
    this.move('open');
  }

  private move(state: BreakerState): void {
    this.stateNow = state;
    this.transitions[state]++;
    this.onTransition(state);
  }
}

/** Default breaker settings of an upstream that declares none. */
export const DEFAULT_BREAKER: BreakerSettings = { failures: 5, openMs: 5_000 };

/** One breaker per upstream name, kept across table changes (settings follow the table). */
export class CircuitBreakers {
  private readonly byName = new Map<string, CircuitBreaker>();

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly onTransition: (upstream: string, state: BreakerState) => void = () => {},
  ) {}

  get(name: string, settings: BreakerSettings): CircuitBreaker {
    let b = this.byName.get(name);
    if (!b) {
      b = new CircuitBreaker(settings, this.now, (s) => this.onTransition(name, s));
      this.byName.set(name, b);
    } else if (b.settings !== settings) b.settings = settings;
    return b;
  }

  /** State of every breaker created so far. */
  snapshot(): Record<string, { state: BreakerState; transitions: Record<BreakerState, number> }> {
    const out: Record<string, { state: BreakerState; transitions: Record<BreakerState, number> }> = {};
    for (const [name, b] of this.byName) out[name] = { state: b.state, transitions: { ...b.transitions } };
    return out;
  }
}
