import type { IncomingMessage } from 'node:http';
import type { Logger } from '@warmhouse/shared';
import { upstreamRequestHeaders, type OwnHeaders } from '../forward/headers';
import type { Tap } from '../forward/forwarder';
import type { UpstreamPools } from '../forward/pools';
import { CircuitBreakers, type BreakerState } from '../forward/breaker';
import { burstOf, TokenBucket } from './budget';
import type { CompiledShadow, CompiledUpstream } from '../table/compile';
import { compareAnswers, type Answer, type Difference } from './compare';

/** Header telling a service to validate and answer inside a rolled-back transaction. */
export const DRY_RUN_HEADER = 'x-strangler-dry-run';

/** Counters of one shadowed route. */
export interface ShadowCounters {
  /** Pairs of answers compared. */
  compared: number;
  equal: number;
  different: number;
  /** The shadow target failed (connect error, timeout, broken body). */
  serviceErrors: number;
  /** Mutating requests not shadowed (the route has no `dryRun`). */
  skipped: number;
  /** Not shadowed because the route's `sampleRate` left them out. */
  sampledOut: number;
  /** Not shadowed because the route's copy budget (`copiesPerSecond`) was spent. */
  overBudget: number;
  /** Not shadowed because the target's shadow circuit is open (it kept failing; probed now and then). */
  breakerOpen: number;
  /** Not shadowed because the in-flight cap was reached (copies still running). */
  dropped: number;
  /** Not compared: a request or response body over `maxBodyBytes`. */
  tooLarge: number;
  /** Not compared: the client's own exchange failed or broke. */
  notCompared: number;
}

/** Options of the {@link Shadower}. */
export interface ShadowerOptions {
  pools: UpstreamPools;
  logger: Logger;
  /** Shadow requests in flight at most (over it, requests are not shadowed and counted as dropped). Default 16. */
  maxInFlight?: number;
  /** Every counted result, as it happens (metrics, route statistics). */
  onResult?: (routeId: string, result: keyof ShadowCounters) => void;
  /** A shadow target's circuit changed state (metrics, log). */
  onCircuit?: (upstream: string, state: BreakerState) => void;
  /**
   * Uniform in [0, 1), drawn once per eligible request of a route sampled below 1 (tests inject a sequence).
   * Random rather than a counter (every n-th request): a counter aliases with periodic traffic (a poller cycling
   * through four devices at rate 0.25 would shadow the same device every time), random picks sample every kind
   * of request alike.
   */
  random?: () => number;
  /** Monotonic milliseconds, for the copy budgets and the circuits (tests inject a clock). */
  now?: () => number;
}

/** One recorded difference, with both answers. */
export interface ShadowDiff {
  at: string;
  requestId: string;
  method: string;
  url: string;
  differences: Difference[];
  primary: { upstream: string; status: number; body: string };
  shadow: { upstream: string; status: number; body: string };
}

const BODY_KEPT = 16 * 1024;

function shown(body: Buffer): string {
  return body.length <= BODY_KEPT
    ? body.toString('utf8')
    : `${body.subarray(0, BODY_KEPT).toString('utf8')}… (${body.length} bytes)`;
}

/** Counters of a route nothing was shadowed for yet. */
export function emptyCounters(): ShadowCounters {
  return {
    compared: 0,
    equal: 0,
    different: 0,
    serviceErrors: 0,
    skipped: 0,
    sampledOut: 0,
    overBudget: 0,
    breakerOpen: 0,
    dropped: 0,
    tooLarge: 0,
    notCompared: 0,
  };
}

/** Collects at most `max` bytes; `over` once more arrived. */
class Capture {
  readonly chunks: Buffer[] = [];
  size = 0;
  over = false;
  constructor(private readonly max: number) {}
  add(chunk: Buffer): void {
    if (this.over) return;
    this.size += chunk.length;
    if (this.size > this.max) {
      this.over = true;
      this.chunks.length = 0;
    } else this.chunks.push(chunk);
  }
  get body(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** One client exchange to copy to a shadow route's target. */
export interface ShadowCopy {
  readonly routeId: string;
  readonly shadow: CompiledShadow;
  /** The route's target, which gets the copy. */
  readonly target: CompiledUpstream;
  readonly req: IncomingMessage;
  /** Request target sent (path and query). */
  readonly path: string;
  readonly requestId: string;
  /** The proxy's own fields, as on the client's exchange (the copy's `X-Strangler-Dry-Run` is added after them). */
  readonly own?: OwnHeaders;
}

/**
 * Shadow traffic: copies a request of a route in mode `shadow` to its target after the client has had the
 * baseline's answer, and compares the two answers. What is copied is explicit: the route's `sampleRate` and
 * `copiesPerSecond` budget, a circuit per target (a target that keeps failing to connect or time out gets no copies
 * but a probe now and then, so a dead target costs the client path nothing), and a global bound on copies in
 * flight; every request not copied is counted by reason. Counters and the latest differences per route are kept
 * in memory for the admin API (reset on restart).
 */
export class Shadower {
  private inFlight = 0;
  private readonly counters = new Map<string, ShadowCounters>();
  private readonly diffs = new Map<string, ShadowDiff[]>();
  private readonly budgets = new Map<string, { rate: number; bucket: TokenBucket }>();
  /** Circuits of the shadow targets: apart from the client path's, so copies never open a route's circuit. */
  readonly circuits: CircuitBreakers;
  private readonly pools: UpstreamPools;
  private readonly logger: Logger;
  private readonly maxInFlight: number;
  private readonly onResult: (routeId: string, result: keyof ShadowCounters) => void;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(options: ShadowerOptions) {
    this.pools = options.pools;
    this.logger = options.logger;
    this.maxInFlight = options.maxInFlight ?? 16;
    this.onResult = options.onResult ?? (() => {});
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => performance.now());
    this.circuits = new CircuitBreakers(this.now, options.onCircuit);
  }

  /** Counters of every shadowed route seen so far. */
  stats(): Record<string, ShadowCounters> {
    return Object.fromEntries([...this.counters].map(([id, c]) => [id, { ...c }]));
  }

  /** Counters and the latest differences of one route (newest last). */
  route(routeId: string): { counters: ShadowCounters; diffs: ShadowDiff[] } {
    return {
      counters: { ...(this.counters.get(routeId) ?? emptyCounters()) },
      diffs: [...(this.diffs.get(routeId) ?? [])],
    };
  }

  /** Shadow copies in flight now. */
  pending(): number {
    return this.inFlight;
  }

  private count(routeId: string, what: keyof ShadowCounters): void {
    let c = this.counters.get(routeId);
    if (!c) this.counters.set(routeId, (c = emptyCounters()));
    c[what]++;
    this.onResult(routeId, what);
  }

  /**
   * Starts watching one client exchange. Returns the tap to give the forwarder and the callback to call when
   * the client's exchange ended (`ok`: a complete answer was relayed), or `undefined` when the request is
   * not shadowed (counted).
   */
  begin(copy: ShadowCopy): { tap: Tap; done: (ok: boolean) => void } | undefined {
    const { routeId, shadow, target, req, path, requestId } = copy;
    const mutating = !['GET', 'HEAD', 'OPTIONS'].includes(req.method!);
    if (mutating && !shadow.spec.dryRun) {
      this.count(routeId, 'skipped');
      return undefined;
    }
    const rate = shadow.spec.sampleRate;
    if (rate < 1 && this.random() >= rate) {
      this.count(routeId, 'sampledOut');
      return undefined;
    }
    const circuit = this.circuits.get(target.name, target.breaker);
    const admission = circuit.admit();
    if (admission === 'refuse') {
      this.count(routeId, 'breakerOpen');
      return undefined;
    }
    const probe = admission === 'probe';
    const refusal = !this.withinBudget(routeId, shadow.spec.copiesPerSecond)
      ? 'overBudget'
      : this.inFlight >= this.maxInFlight
        ? 'dropped'
        : undefined;
    if (refusal !== undefined) {
      circuit.release(probe);
      this.count(routeId, refusal);
      return undefined;
    }
    this.inFlight++;
    const max = shadow.spec.maxBodyBytes;
    const request = new Capture(max);
    const response = new Capture(max);
    let status = 0;
    let rawHeaders: readonly Buffer[] = [];
    const tap: Tap = {
      requestChunk: (c) => request.add(c),
      responseHead: (s, h) => {
        status = s;
        rawHeaders = h;
      },
      responseChunk: (c) => response.add(c),
    };
    const headers = upstreamRequestHeaders(req, target.host, requestId, copy.own);
    if (mutating) headers.push(DRY_RUN_HEADER, '1');
    const method = req.method!;
    const url = req.url!;
    const done = (ok: boolean): void => {
      if (!ok || request.over || response.over || status === 0) {
        this.inFlight--;
        circuit.release(probe);
        this.count(routeId, ok && (request.over || response.over) ? 'tooLarge' : 'notCompared');
        return;
      }
      const primary: Answer = { status, headers: pick(rawHeaders, shadow.spec.headers), body: response.body };
      const body = request.chunks.length > 0 ? request.body : null;
      void this.send(target, method, path, headers, body, max, shadow.spec.headers)
        .then(
          (answer) => {
            circuit.success(); // the target answered: whatever it said, it is reachable
            if (answer === 'too-large') return this.count(routeId, 'tooLarge');
            const differences = compareAnswers(primary, answer, shadow.spec, shadow.ignored);
            this.count(routeId, 'compared');
            this.count(routeId, differences.length === 0 ? 'equal' : 'different');
            if (differences.length > 0 && shadow.spec.keepDiffs > 0) {
              const list = this.diffs.get(routeId) ?? [];
              list.push({
                at: new Date().toISOString(),
                requestId,
                method,
                url,
                differences,
                primary: { upstream: 'baseline', status: primary.status, body: shown(primary.body) },
                shadow: { upstream: target.name, status: answer.status, body: shown(answer.body) },
              });
              while (list.length > shadow.spec.keepDiffs) list.shift();
              this.diffs.set(routeId, list);
            }
          },
          (err: unknown) => {
            circuit.failure();
            this.count(routeId, 'serviceErrors');
            this.logger.debug({ route: routeId, upstream: target.name, err, requestId }, 'shadow request failed');
          },
        )
        .finally(() => {
          this.inFlight--;
        });
    };
    return { tap, done };
  }

  /** Takes one copy from the route's budget (no `copiesPerSecond`: no budget, always). */
  private withinBudget(routeId: string, copiesPerSecond: number | undefined): boolean {
    if (copiesPerSecond === undefined) return true;
    let b = this.budgets.get(routeId);
    if (!b) {
      b = { rate: copiesPerSecond, bucket: new TokenBucket(copiesPerSecond, burstOf(copiesPerSecond), this.now) };
      this.budgets.set(routeId, b);
    } else if (b.rate !== copiesPerSecond) {
      b.bucket.setRate(copiesPerSecond, burstOf(copiesPerSecond));
      b.rate = copiesPerSecond;
    }
    return b.bucket.take();
  }

  private async send(
    target: CompiledUpstream,
    method: string,
    path: string,
    headers: string[],
    body: Buffer | null,
    max: number,
    compared: readonly string[],
  ): Promise<Answer | 'too-large'> {
    if (body) {
      for (let i = 0; i < headers.length; i += 2)
        if (headers[i]!.toLowerCase() === 'content-length') headers[i + 1] = String(body.length);
    }
    const res = await this.pools.get(target).request({
      path,
      method: method as 'GET',
      headers,
      body,
      headersTimeout: target.timeouts.headersMs,
      bodyTimeout: target.timeouts.bodyMs,
    });
    const capture = new Capture(max);
    for await (const chunk of res.body) {
      capture.add(chunk as Buffer);
      if (capture.over) {
        res.body.destroy();
        return 'too-large';
      }
    }
    const h: Record<string, string | undefined> = {};
    for (const n of compared) {
      const v = res.headers[n.toLowerCase()];
      h[n.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    }
    return { status: res.statusCode, headers: h, body: capture.body };
  }
}

function pick(raw: readonly Buffer[], names: readonly string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const n of names) out[n.toLowerCase()] = undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    if (name in out) out[name] = raw[i + 1]!.toString('latin1');
  }
  return out;
}
