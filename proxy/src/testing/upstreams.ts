import { createHash } from 'node:crypto';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { compileTable, type CompiledTable } from '../table/compile';
import type { TableSpecInput } from '../table/schema';

/** A request as a test upstream saw it. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  bodyBytes: number;
  bodySha256: string;
}

/** A tiny real HTTP upstream on a free loopback port that tags its answers and records what it got. */
export interface TestUpstream {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly seen: SeenRequest[];
  readonly server: http.Server;
  close(): Promise<void>;
}

/** Default behaviour: read the body, answer 200 JSON `{ upstream, method, url, bodyBytes }` tagged with `x-upstream`. */
export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, seen: SeenRequest) => void;

export async function startUpstream(name: string, handler?: UpstreamHandler): Promise<TestUpstream> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const record: SeenRequest = {
      method: req.method!,
      url: req.url!,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      bodyBytes: 0,
      bodySha256: '',
    };
    seen.push(record);
    if (handler) return handler(req, res, record);
    const hash = createHash('sha256');
    req.on('data', (c: Buffer) => {
      record.bodyBytes += c.length;
      hash.update(c);
    });
    req.on('end', () => {
      record.bodySha256 = hash.digest('hex');
      const body = JSON.stringify({ upstream: name, method: req.method, url: req.url, bodyBytes: record.bodyBytes });
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-upstream': name,
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Compiles a table for tests; throws with every issue when it is invalid. */
export function tableOf(input: TableSpecInput, version = 1, env: NodeJS.ProcessEnv = {}): CompiledTable {
  const result = compileTable(input, { env, version });
  if (!result.ok) throw new Error(result.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  return result.table;
}

/** A mutable table holder for tests (what the store is to production). */
export class TableHolder {
  constructor(public current: CompiledTable) {}
}

/** The upstreams of most test tables: the monolith and device management (the service a route moves to). */
export function monolithAndService(monolithUrl: string, serviceUrl: string): TableSpecInput['upstreams'] {
  return [
    { name: 'monolith', url: monolithUrl },
    { name: 'device-management', url: serviceUrl },
  ];
}
