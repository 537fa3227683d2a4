import type { Logger } from '@warmhouse/shared';
import { Client } from 'pg';
import { LOG_EVENTS } from '../log-events';

/** Options of {@link StoreSubscriber}. */
export interface SubscriberOptions {
  url: string;
  /** NOTIFY channel to LISTEN on. */
  channel: string;
  /** Called on every notification, after every (re)connection and on every poll: "look at the store now". */
  onSignal: () => Promise<void>;
  /** Safety-net period: the store is looked at this often even without notifications (ms). */
  pollMs: number;
  /** Reconnection delay after a lost connection, doubled up to 5 s. */
  reconnectMs?: number;
  /** Told whether the store is reachable (the LISTEN connection is up and the last look succeeded). */
  onReachable?: (reachable: boolean) => void;
  logger: Logger;
}

/**
 * Keeps one LISTEN connection to the control store (a pool's clients cannot keep a LISTEN) and signals on every
 * notification. Notifications sent while it was disconnected are gone, so after every reconnection it signals
 * once to re-read the store; a poll signals too, as a safety net. `onSignal` must fold overlapping calls
 * ({@link RouteTableStore.sync} does).
 */
export class StoreSubscriber {
  private client: Client | undefined;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private delayMs: number;
  private reachable: boolean | undefined;

  constructor(private readonly options: SubscriberOptions) {
    this.delayMs = options.reconnectMs ?? 250;
  }

  start(): void {
    this.pollTimer = setInterval(() => void this.signal(), this.options.pollMs);
    this.pollTimer.unref();
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({
      connectionString: this.options.url,
      connectionTimeoutMillis: 3_000,
      application_name: 'strangler-proxy-listener',
      keepAlive: true,
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    client.on('notification', () => void this.signal());
    try {
      await client.connect();
      await client.query(`LISTEN ${this.options.channel}`);
    } catch (err) {
      this.lost(client, err as Error);
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.delayMs = this.options.reconnectMs ?? 250;
    await this.signal();
  }

  private lost(client: Client, err: Error): void {
    if (this.stopped || (this.client !== undefined && this.client !== client)) return;
    if (this.client === client) this.client = undefined;
    client.removeAllListeners('end');
    client.end().catch(() => undefined);
    this.setReachable(false, err);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.connect(), this.delayMs);
    this.reconnectTimer.unref();
    this.delayMs = Math.min(this.delayMs * 2, 5_000);
  }

  private async signal(): Promise<void> {
    if (this.stopped) return;
    await this.options.onSignal().then(
      () => this.setReachable(this.client !== undefined),
      (err: Error) => this.setReachable(false, err),
    );
  }

  private setReachable(reachable: boolean, err?: Error): void {
    if (this.reachable === reachable) return;
    this.reachable = reachable;
    this.options.onReachable?.(reachable);
    if (reachable) this.options.logger.info({ event: LOG_EVENTS.controlStoreReached }, 'control store reached');
    else
      this.options.logger.warn(
        { event: LOG_EVENTS.controlStoreUnavailable, err },
        'control store unreachable: serving the last table',
      );
  }
}
