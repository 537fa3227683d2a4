import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@warmhouse/shared';

type Stop = () => Promise<void>;

/** A part of a service process that runs between `start` and `stop` (a consumer, a relay, a sweeper). */
export interface ServicePart {
  start(): Promise<void> | void;
  stop(): Promise<void>;
}

/**
 * What a service process has started, stopped in the reverse order by `stop()`: the first call stops everything,
 * later calls share that stop. A failing step is logged and the remaining ones still run.
 */
export class ServiceParts {
  private readonly stops: Stop[] = [];
  private stopping: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  /** Registers how to stop something started by other means (a pool, a producer, a server). */
  onStop(stop: Stop): void {
    this.stops.push(stop);
  }

  /** Starts `part` and registers its stop; resolves to the part, started. */
  async start<P extends ServicePart>(part: P): Promise<P> {
    await part.start();
    this.stops.push(() => part.stop());
    return part;
  }

  /** Stops every registered part, the last started first. */
  stop(): Promise<void> {
    return (this.stopping ??= this.stopAll());
  }

  private async stopAll(): Promise<void> {
    for (const stop of this.stops.reverse()) {
      await stop().catch((err: unknown) => this.logger.error({ event: 'stop_failed', err }, 'error while stopping'));
    }
  }
}

/** A listening HTTP server of a service. */
export interface Listening {
  server: Server;
  port: number;
  /** `http://host:port` */
  url: string;
}

/**
 * Starts `app` listening on `host:port` (port 0: any free one) and registers its graceful close with `parts`: stop
 * accepting connections, let requests in flight finish for up to `graceMs`, then close whatever is still open.
 */
export async function listenAsPart(
  app: { listen(port: number, host: string): Server },
  parts: ServiceParts,
  options: { port: number; host: string; graceMs: number; keepAliveTimeoutMs?: number },
): Promise<Listening> {
  const server = app.listen(options.port, options.host);
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  if (options.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = options.keepAliveTimeoutMs;
  parts.onStop(() => closeServer(server, options.graceMs));
  const { port } = server.address() as AddressInfo;
  return { server, port, url: `http://${options.host}:${port}` };
}

/** Stops accepting connections, lets requests in flight finish (up to `graceMs`), then closes idle keep-alives. */
function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
