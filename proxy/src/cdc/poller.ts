import type { Logger } from '@warmhouse/shared';
import type { CompiledUpstream } from '../table/compile';
// the contract alone (its own module: the proxy does not load the Kafka side of @warmhouse/messaging)
import {
  AppliedReportSchema,
  CDC_APPLIED_PATH,
  type AppliedReport,
} from '@warmhouse/messaging/src/contracts/cdc-applied';

/** What the proxy knows of one upstream's applied positions. */
export interface UpstreamCdcState {
  readonly upstream: string;
  readonly url: string;
  /** last good report and when it was received (proxy clock, ms) */
  report?: AppliedReport;
  reportAt?: number;
  /** last failure (unreachable, timeout, bad status or body), cleared by a good poll */
  error?: string;
  /** consecutive failures */
  failures: number;
  polls: number;
}

const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Polls `GET /cdc/applied` of every upstream serving a CDC-aware route: one request in flight per upstream, each
 * with a timeout; failures are kept (never reported as fresh). `setTargets` follows the table in force.
 */
export class AppliedPoller {
  private readonly states = new Map<string, UpstreamCdcState>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly options: {
      intervalMs: number;
      timeoutMs: number;
      logger: Logger;
      now?: () => number;
      onFailure?: (upstream: string, error: string) => void;
    },
  ) {}

  /** Polls exactly these upstreams from now on (by name; a changed URL restarts its state). */
  setTargets(upstreams: readonly CompiledUpstream[]): void {
    if (this.closed) return;
    const wanted = new Map(upstreams.map((u) => [u.name, `${u.origin}${CDC_APPLIED_PATH}`]));
    for (const [name, state] of this.states) {
      if (wanted.get(name) !== state.url) {
        clearTimeout(this.timers.get(name));
        this.timers.delete(name);
        this.states.delete(name);
      }
    }
    for (const [name, url] of wanted) {
      if (this.states.has(name)) continue;
      this.states.set(name, { upstream: name, url, failures: 0, polls: 0 });
      void this.poll(name);
    }
  }

  get(upstream: string): UpstreamCdcState | undefined {
    return this.states.get(upstream);
  }

  all(): UpstreamCdcState[] {
    return [...this.states.values()];
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private async poll(name: string): Promise<void> {
    const state = this.states.get(name);
    if (!state || this.closed) return;
    const now = this.options.now ?? Date.now;
    try {
      const res = await fetch(state.url, {
        signal: AbortSignal.timeout(this.options.timeoutMs),
        headers: { accept: 'application/json' },
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`answered ${res.status}`);
      if (text.length > MAX_BODY_BYTES) throw new Error(`body larger than ${MAX_BODY_BYTES} bytes`);
      const parsed = AppliedReportSchema.safeParse(JSON.parse(text));
      if (!parsed.success) throw new Error(`not an applied report: ${parsed.error.issues[0]?.message ?? ''}`);
      state.report = parsed.data;
      state.reportAt = now();
      if (state.error !== undefined) {
        this.options.logger.info(
          { event: 'cdc_applied_poll_recovered', upstream: name },
          `${name} ${CDC_APPLIED_PATH} answers again`,
        );
      }
      state.error = undefined;
      state.failures = 0;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (state.failures === 0) {
        this.options.logger.warn(
          { event: 'cdc_applied_poll_failed', upstream: name, url: state.url, reason: message },
          `cannot read ${CDC_APPLIED_PATH} of ${name}: its CDC-aware reads go to the source`,
        );
      }
      state.error = message;
      state.failures++;
      this.options.onFailure?.(name, message);
    } finally {
      state.polls++;
      if (!this.closed && this.states.get(name) === state) {
        const timer = setTimeout(() => void this.poll(name), this.options.intervalMs);
        timer.unref();
        this.timers.set(name, timer);
      }
    }
  }
}
