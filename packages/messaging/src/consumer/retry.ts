/** Exponential backoff with "equal jitter": never zero, never in lock-step with other consumers. */
export interface BackoffOptions {
  /** Delay cap for the first retry, in ms. */
  initialMs: number;
  /** Upper bound of any single delay, in ms. */
  maxMs: number;
  /** Growth factor per attempt. */
  factor: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ initialMs: 100, maxMs: 30_000, factor: 2 });

/** Delay before retry number `attempt` (1-based): uniform in [cap/2, cap] where cap grows per attempt. */
export function backoffDelay(
  attempt: number,
  { initialMs, maxMs, factor }: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const cap = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
