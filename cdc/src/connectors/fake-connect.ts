import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConnectorStatus } from './status';

/** A request the fake Connect received. */
export interface SeenRequest {
  method: string;
  path: string;
  body: unknown;
}

type Reply = { status: number; body?: unknown };

/**
 * A tiny stand-in for the Kafka Connect REST API on a free port, for unit tests: stores connector configs,
 * reports scripted statuses, and can be told to answer the next requests with errors.
 */
export async function startFakeConnect(plugins: Array<{ class: string; version?: string }>) {
  const configs = new Map<string, Record<string, string>>();
  const statuses: ConnectorStatus[] = [];
  const seen: SeenRequest[] = [];
  const scripted: Array<{ method: string; path: RegExp; reply: Reply }> = [];

  const route = (method: string, path: string, body: unknown): Reply => {
    const i = scripted.findIndex((s) => s.method === method && s.path.test(path));
    if (i >= 0) return scripted.splice(i, 1)[0]!.reply;
    if (method === 'GET' && path === '/connector-plugins') return { status: 200, body: plugins };
    const m = /^\/connectors\/([^/]+)\/(config|status|restart)/.exec(path);
    const name = m ? decodeURIComponent(m[1]!) : '';
    if (m?.[2] === 'config' && method === 'GET') {
      const c = configs.get(name);
      return c
        ? { status: 200, body: c }
        : { status: 404, body: { error_code: 404, message: `Connector ${name} not found` } };
    }
    if (m?.[2] === 'config' && method === 'PUT') {
      const existed = configs.has(name);
      configs.set(name, body as Record<string, string>);
      return { status: existed ? 200 : 201, body: { name, config: body, tasks: [], type: 'source' } };
    }
    if (m?.[2] === 'status' && method === 'GET') {
      const next = statuses.length > 1 ? statuses.shift() : statuses[0];
      return next
        ? { status: 200, body: next }
        : { status: 404, body: { error_code: 404, message: 'No status found' } };
    }
    if (m?.[2] === 'restart' && method === 'POST') return { status: 202, body: statuses[0] };
    return { status: 404, body: { error_code: 404, message: 'HTTP 404 Not Found' } };
  };

  const server: Server = createServer((req, res) => {
    void readBody(req).then((text) => {
      const body = text ? (JSON.parse(text) as unknown) : undefined;
      const path = req.url ?? '/';
      seen.push({ method: req.method ?? 'GET', path, body });
      const reply = route(req.method ?? 'GET', path, body);
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    configs,
    seen,
    /** statuses answered in turn; the last one repeats */
    setStatuses: (...list: ConnectorStatus[]) => statuses.splice(0, statuses.length, ...list),
    /** answer the next matching request with `reply` instead */
    failNext: (method: string, path: RegExp, reply: Reply) => scripted.push({ method, path, reply }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A status with the given connector state and task states. */
export function statusOf(
  name: string,
  connector: ConnectorStatus['connector']['state'],
  ...tasks: Array<[ConnectorStatus['tasks'][number]['state'], string?]>
): ConnectorStatus {
  return {
    name,
    connector: { state: connector, worker_id: '127.0.0.1:8083' },
    tasks: tasks.map(([state, trace], id) => ({ id, state, worker_id: '127.0.0.1:8083', ...(trace ? { trace } : {}) })),
    type: 'source',
  };
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
