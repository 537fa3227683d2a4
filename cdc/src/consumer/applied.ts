/**
 * Applied positions: what a consuming service has applied, per topic, served at `GET /cdc/applied` so that the
 * strangler proxy (CDC-aware reads) and the CDC monitor can tell how far behind the service is.
 */

// The wire contract (path, schema, types) lives with the other contracts in @warmhouse/messaging.
import { CDC_APPLIED_PATH, type AppliedPosition, type AppliedReport } from '@warmhouse/messaging';
import { cdcError } from '../errors';

export { CDC_APPLIED_PATH, type AppliedPosition, type AppliedReport };

/** End offsets (next offset to be written) of a topic's partitions, and the group's committed offsets. */
export interface PartitionOffsets {
  topic: string;
  partition: number;
  /** the high watermark: offset of the next message to be written */
  end: bigint;
  /** the consumer group's committed offset (next to consume), when known */
  committed?: bigint;
}

interface Candidate {
  position: AppliedPosition;
  /** business-topic partitions that must be applied up to `end` before the candidate counts */
  ends: PartitionOffsets[];
}

/**
 * Tracks, per topic, the last change a consumer has applied (its handler resolved), and the position of its
 * heartbeat topic.
 *
 * The heartbeat topic (`monolith.public.cdc_heartbeat`, written by Debezium's heartbeat action query every
 * `heartbeat.interval.ms`) keeps advancing while the business tables are idle. Its entry is a *watermark*: it is
 * published only once every business topic of the consumer is known to be applied up to where it was when the
 * heartbeat had been consumed — the consumed heartbeat is remembered, the topics' end offsets are read after that,
 * and the entry moves when the applied (or committed) offsets reach them. Debezium streams transactions in commit
 * order and Kafka Connect sends a connector's records in that order (one producer, one in-flight request), so the
 * changes of every transaction committed before the heartbeat's were appended before it and are now applied:
 * "heartbeat LSN ≥ X" then means "every transaction committed when the WAL was at X is applied here", whichever
 * topic it wrote to, even when another topic's partition is behind in a separate fetch.
 */
export class AppliedPositions {
  private readonly business = new Map<string, AppliedPosition>();
  /** next offset after the last message done (handled, skipped or dead-lettered), per `topic\0partition` */
  private readonly done = new Map<string, bigint>();
  private consumedHeartbeat: AppliedPosition | undefined;
  private heartbeat: AppliedPosition | undefined;
  private candidate: Candidate | undefined;

  constructor(
    readonly heartbeatTopic: string | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records that a message is done; `change` is set when it was a change event whose handler resolved. */
  record(
    topic: string,
    partition: number,
    offset: string,
    change?: { lsn: bigint; sourceTsMs: number; snapshot?: boolean },
  ): void {
    this.done.set(`${topic}\u0000${partition}`, BigInt(offset) + 1n);
    if (change) {
      const position: AppliedPosition = {
        lsn: change.lsn.toString(),
        sourceTsMs: change.sourceTsMs,
        appliedAtMs: this.now(),
        partition,
        offset,
      };
      if (topic === this.heartbeatTopic) this.consumedHeartbeat = position;
      else this.business.set(topic, position);
    }
    this.settle();
  }

  /** The heartbeat consumed but not yet published, to be checked against end offsets read from now on. */
  pendingHeartbeat(): AppliedPosition | undefined {
    const c = this.consumedHeartbeat;
    if (c === undefined) return undefined;
    // one candidate at a time: replacing it with ever newer end offsets could starve it under steady traffic
    if (this.candidate) return undefined;
    if (this.heartbeat && BigInt(this.heartbeat.lsn) >= BigInt(c.lsn)) return undefined;
    return c;
  }

  /**
   * Offers `heartbeat` (from {@link pendingHeartbeat}) with the business topics' end offsets read *after* it was
   * taken; it is published as soon as every partition is applied up to its end.
   */
  offer(heartbeat: AppliedPosition, ends: PartitionOffsets[]): void {
    if (this.candidate) return;
    this.candidate = { position: heartbeat, ends };
    this.settle();
  }

  /**
   * Progress made elsewhere (other replicas of the service, read from its database): partitions applied up to
   * `next`. A candidate heartbeat waiting for partitions this process does not own settles through it.
   */
  progress(parts: ReadonlyArray<{ topic: string; partition: number; next: bigint }>): void {
    for (const p of parts) {
      const key = `${p.topic}\u0000${p.partition}`;
      if ((this.done.get(key) ?? 0n) < p.next) this.done.set(key, p.next);
    }
    this.settle();
  }

  /** whether a heartbeat is offered and waits for business partitions to be applied */
  waiting(): boolean {
    return this.candidate !== undefined;
  }

  /** the heartbeat watermark published last (a copy), if any */
  watermark(): AppliedPosition | undefined {
    return this.heartbeat && { ...this.heartbeat };
  }

  /** Every topic's last applied change; the heartbeat topic's entry is the watermark described above. */
  snapshot(): Record<string, AppliedPosition> {
    const out: Record<string, AppliedPosition> = {};
    for (const [topic, p] of this.business) out[topic] = { ...p };
    if (this.heartbeatTopic && this.heartbeat) out[this.heartbeatTopic] = { ...this.heartbeat };
    return out;
  }

  private settle(): void {
    const c = this.candidate;
    if (c === undefined) return;
    const caughtUp = c.ends.every((e) => {
      const applied = this.done.get(`${e.topic}\u0000${e.partition}`) ?? 0n;
      return applied >= e.end || (e.committed !== undefined && e.committed >= e.end);
    });
    if (!caughtUp) return;
    this.heartbeat = { ...c.position, appliedAtMs: this.now() };
    this.candidate = undefined;
  }
}

/** Merges the positions of several consumers of one service; a topic twice keeps the lower (safer) position. */
export function mergeApplied(parts: ReadonlyArray<Record<string, AppliedPosition>>): Record<string, AppliedPosition> {
  const out: Record<string, AppliedPosition> = {};
  for (const part of parts) {
    for (const [topic, p] of Object.entries(part)) {
      const seen = out[topic];
      if (seen === undefined || BigInt(p.lsn) < BigInt(seen.lsn)) out[topic] = p;
    }
  }
  return out;
}

/**
 * Anything with applied positions: a {@link ChangeEventConsumer} (what this process applied) or an `AppliedStore`
 * (what the whole service applied, from its database).
 */
export interface AppliedSource {
  applied(): Record<string, AppliedPosition> | Promise<Record<string, AppliedPosition>>;
}

/** The minimal response an express (or plain node) handler needs. */
interface JsonResponse {
  setHeader(name: string, value: string): unknown;
  status(code: number): unknown;
  json(body: unknown): unknown;
}

/**
 * An express handler serving `GET /cdc/applied` for a service:
 * `app.get(CDC_APPLIED_PATH, cdcAppliedHandler('device-management', [consumer]))`.
 * `sources` may be a function, for consumers created after the app.
 */
export function cdcAppliedHandler(
  service: string,
  sources: readonly AppliedSource[] | (() => readonly AppliedSource[]),
): (req: unknown, res: JsonResponse) => Promise<void> {
  return async (_req, res) => {
    const list = typeof sources === 'function' ? sources() : sources;
    res.setHeader('Cache-Control', 'no-store');
    try {
      const report: AppliedReport = { service, topics: mergeApplied(await Promise.all(list.map((s) => s.applied()))) };
      res.json(report);
    } catch (err) {
      // never an empty or partial report: the proxy and the monitor then treat the service as unknown
      const e = cdcError('CDC_ERR_APPLIED_UNAVAILABLE', `applied positions cannot be read: ${String(err)}`);
      res.status(e.status);
      res.json({ error: e.code, message: e.message });
    }
  };
}
