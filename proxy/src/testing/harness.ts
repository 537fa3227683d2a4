import net, { type AddressInfo } from 'node:net';
import { createLogger } from '@warmhouse/shared';
import { createProxy, type ProxyOptions, type StranglerProxy } from '../proxy';
import type { TableSpecInput } from '../table/schema';
import { tableOf, TableHolder } from './upstreams';

/** A proxy listening on a free loopback port, driven by a mutable table holder. */
export interface TestProxy {
  readonly proxy: StranglerProxy;
  readonly holder: TableHolder;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

export async function startTestProxy(table: TableSpecInput, options: Partial<ProxyOptions> = {}): Promise<TestProxy> {
  const holder = new TableHolder(tableOf(table));
  const proxy = createProxy({
    table: holder,
    logger: createLogger('proxy-test', process.env.TEST_LOG_LEVEL ?? 'silent'),
    ...options,
  });
  await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
  const port = (proxy.server.address() as AddressInfo).port;
  return { proxy, holder, port, url: `http://127.0.0.1:${port}`, close: () => proxy.close(1_000) };
}

/** A raw HTTP exchange: writes `request` bytes, collects everything until the server closes (or `timeoutMs`). */
export function rawExchange(port: number, request: string | Buffer, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => {
      clearTimeout(timer);
      if (chunks.length > 0) resolve(Buffer.concat(chunks).toString('latin1'));
      else reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.write(request);
  });
}

/** Status code of the first response in a raw exchange. */
export function statusOf(raw: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
}

/** JSON body of the first response in a raw exchange (Content-Length framed). */
export function jsonBodyOf(raw: string): unknown {
  const i = raw.indexOf('\r\n\r\n');
  const len = Number(/\r\ncontent-length: (\d+)/i.exec(raw.slice(0, i))?.[1] ?? 0);
  return JSON.parse(raw.slice(i + 4, i + 4 + len));
}
