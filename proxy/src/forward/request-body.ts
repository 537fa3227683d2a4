import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { ProxyError } from '../errors';

/**
 * The client's request body as a stream undici may destroy without destroying the client connection
 * (so that a 413, 502 or 504 can still be written), with backpressure and a size limit.
 */
export class RequestBody extends Readable {
  private received = 0;
  private readonly onData = (chunk: Buffer): void => {
    this.received += chunk.length;
    if (this.received > this.limit) {
      this.req.pause();
      this.destroy(
        new ProxyError('PROXY_ERR_BODY_TOO_LARGE', { details: { limit: this.limit, stage: 'client-body' } }),
      );
      return;
    }
    this.onChunk?.(chunk);
    if (!this.push(chunk)) this.req.pause();
  };
  private readonly onEnd = (): void => {
    this.push(null);
  };
  private readonly onClose = (): void => {
    if (!this.req.complete)
      this.destroy(new ProxyError('PROXY_ERR_CLIENT_ABORTED', { details: { stage: 'client-body' } }));
  };
  private readonly onError = (err: Error): void => {
    const framing = ((err as NodeJS.ErrnoException).code ?? '').startsWith('HPE_');
    const code = framing ? 'PROXY_ERR_BAD_FRAMING' : 'PROXY_ERR_CLIENT_ABORTED';
    this.destroy(new ProxyError(code, { cause: err, details: { stage: 'client-body' } }));
  };

  constructor(
    private readonly req: IncomingMessage,
    private readonly limit: number,
    /** Sees every chunk passed on (the shadow copy of the body). */
    private readonly onChunk?: (chunk: Buffer) => void,
  ) {
    super({ highWaterMark: 64 * 1024 });
    req.on('data', this.onData);
    req.on('end', this.onEnd);
    req.on('close', this.onClose);
    req.on('error', this.onError);
  }

  /** Bytes received from the client so far. */
  get bytesReceived(): number {
    return this.received;
  }

  override _read(): void {
    this.req.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.req.off('data', this.onData);
    this.req.off('end', this.onEnd);
    this.req.off('close', this.onClose);
    this.req.off('error', this.onError);
    if (!this.req.complete) this.req.pause();
    callback(err);
  }
}
