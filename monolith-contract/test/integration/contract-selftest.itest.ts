import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CONTRACT_CHECKS,
  loadContractDocument,
  runContract,
  type CheckOutcome,
  type ContractError,
} from '@warmhouse/monolith-contract';
import { readTestEndpoints } from '../../../test/stack-endpoints';
import {
  heatingRows,
  startStandIn,
  type HeatingRow,
  type StandInUnderTest,
} from '../../../monolith-standin/test/standin-harness';

/**
 * The contract must be able to fail. The stand-in passes it; the same stand-in behind a proxy that breaks one
 * observable detail (the way a careless reimplementation would) fails exactly the checks about that detail.
 */

interface Message {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}
interface Incoming {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** One way to break the monolith's contract, and which checks must notice. */
interface Breakage {
  name: string;
  /** answers instead of the stand-in */
  intercept?(req: Incoming): Message | undefined;
  rewriteRequest?(req: Incoming): Incoming;
  rewriteResponse?(res: Message, req: Incoming): Message;
  mustFail: string[];
  /** checks about other details, which must still pass (`'*'` = every check not in mustFail or knownStandInGaps) */
  mustPass: string[] | '*';
  /** a phrase the first failing check's message must contain, proving the message points at the cause */
  messageMentions: string;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host']);
const isJson = (m: { headers: Record<string, string> }) =>
  (m.headers['content-type'] ?? '').startsWith('application/json');
const rewriteJsonText = (res: Message, change: (text: string) => string): Message =>
  isJson(res) ? { ...res, body: Buffer.from(change(res.body.toString('utf8'))) } : res;

const BREAKAGES: Breakage[] = [
  {
    name: 'writes "isOn" instead of "on"',
    rewriteResponse: (res) => rewriteJsonText(res, (t) => t.replace(/"on":/g, '"isOn":')),
    mustFail: ['get-heating-system', 'put-applies-settings', 'turn-on', 'turn-off', 'heating-system-exact-bytes'],
    // every check that changes the system first reads it, so those fail too; only pure reads of other things pass
    mustPass: ['current-temperature-bare-number', 'unknown-path-404'],
    messageMentions: '"isOn"',
  },
  {
    name: 'writes whole doubles as 20 instead of 20.0 (semantically equal JSON)',
    rewriteResponse: (res) => rewriteJsonText(res, (t) => t.replace(/(\d)\.0(?=[,}\]]|$)/g, '$1')),
    mustFail: [
      'numbers-as-java-doubles',
      'get-current-temperature-is-zero',
      'heating-system-exact-bytes',
      'java-double-values',
      'set-temperature',
      'put-missing-target-temperature-means-zero',
    ],
    mustPass: ['get-heating-system', 'turn-on', 'turn-off', 'put-ignores-is-on', 'missing-id-500'],
    messageMentions: 'is written 20',
  },
  {
    name: 'answers 404 instead of 500 for an id that does not exist',
    rewriteResponse: (res) =>
      res.status === 500
        ? {
            ...rewriteJsonText(res, (t) =>
              t.replace('"status":500', '"status":404').replace('Internal Server Error', 'Not Found'),
            ),
            status: 404,
          }
        : res,
    mustFail: ['missing-id-500'],
    mustPass: '*',
    messageMentions: 'expected HTTP 500 (getHeatingSystem), got 404',
  },
  {
    name: 'PUT applies "isOn"',
    rewriteRequest: (req) => {
      if (req.method !== 'PUT') return req;
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(req.body.toString('utf8')) as Record<string, unknown>;
      } catch {
        return req; // malformed bodies still reach the stand-in, which rejects them
      }
      if ('isOn' in body && !('on' in body)) body.on = body.isOn;
      return { ...req, body: Buffer.from(JSON.stringify(body)) };
    },
    mustFail: ['put-ignores-is-on'],
    mustPass: '*',
    messageMentions: 'isOn is unknown, on is missing',
  },
  {
    name: 'turn-on answers 204 but changes nothing',
    // only for the seeded systems: ids that do not exist or are not numbers still get the stand-in's errors
    intercept: (req) =>
      req.method === 'POST' && /^\/api\/heating\/[1-4]\/turn-on$/.test(req.url)
        ? { status: 204, headers: {}, body: Buffer.alloc(0) }
        : undefined,
    mustFail: ['turn-on'],
    mustPass: '*',
    messageMentions: 'after turn-on, GET should show on=true',
  },
  {
    name: 'error bodies reveal the exception message',
    rewriteResponse: (res) =>
      res.status >= 400 ? rewriteJsonText(res, (t) => t.replace(/}$/, ',"message":"HeatingSystem not found"}')) : res,
    mustFail: [
      'missing-id-500',
      'non-numeric-id-400',
      'set-temperature-missing-400',
      'set-temperature-not-a-number-400',
      'put-malformed-json-400',
      'unknown-path-404',
      'wrong-method-405',
    ],
    mustPass: ['get-heating-system', 'put-applies-settings', 'turn-on', 'set-temperature'],
    messageMentions: 'must NOT have additional properties ("message")',
  },
  {
    name: 'answers HEAD with headers of its own (no Content-Length of the GET)',
    intercept: (req) =>
      req.method === 'HEAD'
        ? { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.alloc(0) }
        : undefined,
    mustFail: ['head-like-get'],
    mustPass: '*',
    messageMentions: 'answers Content-Length 0, the GET',
  },
  {
    name: 'takes matrix parameters for part of the path segment (/api/heating/1;jsessionid=abc is id "1;jsessionid=abc")',
    rewriteRequest: (req) => {
      const [path = '', query] = req.url.split('?');
      const escaped = path.replace(/;/g, '%3B');
      return { ...req, url: query === undefined ? escaped : `${escaped}?${query}` };
    },
    mustFail: ['matrix-parameters-ignored-on-reads', 'matrix-parameters-ignored-on-writes'],
    mustPass: '*',
    messageMentions: 'expected HTTP 200 (getHeatingSystem), got 400',
  },
];

const readBody = (req: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

/** An HTTP server on port 0 that forwards to `upstream`, applying one breakage on the way. */
async function startBrokenProxy(
  upstream: string,
  breakage: Breakage,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !HOP_BY_HOP.has(k)) headers[k] = v;
      let incoming: Incoming = { method: req.method ?? 'GET', url: req.url ?? '/', headers, body: await readBody(req) };
      incoming = breakage.rewriteRequest?.(incoming) ?? incoming;
      let answer = breakage.intercept?.(incoming);
      if (!answer) {
        // HEAD is forwarded as the GET (its length counted after the breakage): node sends no body on HEAD
        const upstreamRes = await fetch(`${upstream}${incoming.url}`, {
          method: incoming.method === 'HEAD' ? 'GET' : incoming.method,
          headers: incoming.headers,
          body: incoming.body.length > 0 ? incoming.body : undefined,
          redirect: 'manual',
        });
        const upstreamHeaders: Record<string, string> = {};
        upstreamRes.headers.forEach((v, k) => {
          if (!HOP_BY_HOP.has(k)) upstreamHeaders[k] = v;
        });
        answer = {
          status: upstreamRes.status,
          headers: upstreamHeaders,
          body: Buffer.from(await upstreamRes.arrayBuffer()),
        };
      }
      answer = breakage.rewriteResponse?.(answer, incoming) ?? answer;
      res.writeHead(answer.status, { ...answer.headers, 'content-length': String(answer.body.length) });
      res.end(answer.body);
    })().catch((err: unknown) => {
      res.writeHead(599).end(String(err));
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const failures = (outcomes: CheckOutcome[]) =>
  outcomes.filter((o) => !o.passed).map((o) => `${o.name}: ${o.error?.message ?? ''}`);
const namesWhere = (outcomes: CheckOutcome[], passed: boolean) =>
  outcomes.filter((o) => o.passed === passed).map((o) => o.name);

describe('the monolith contract suite', () => {
  let standIn: StandInUnderTest;
  let seeded: HeatingRow[];

  const resetRows = async () => {
    for (const row of seeded) {
      await standIn.pool.query('UPDATE heating_systems SET is_on = $2, target_temperature = $3 WHERE id = $1', [
        row.id,
        row.is_on,
        row.target_temperature,
      ]);
    }
  };

  beforeAll(async () => {
    standIn = await startStandIn(readTestEndpoints().postgres.superuserUrl, 'contract_selftest');
    seeded = await heatingRows(standIn.pool);
  });
  afterAll(() => standIn?.stop());
  afterEach(() => resetRows());

  it('passes against the stand-in, on a system that is off (1) and one that is on (2), and restores both', async () => {
    expect(seeded.slice(0, 2).map((r) => r.is_on)).toEqual([false, true]);
    for (const heatingId of ['1', '2']) {
      expect(failures(await runContract({ baseUrl: standIn.baseUrl, heatingId }))).toEqual([]);
    }
    expect(await heatingRows(standIn.pool)).toEqual(seeded);
  });

  it('exercises every documented response of the OpenAPI document', async () => {
    const doc = await loadContractDocument();
    const seen = new Set<string>();
    const recording: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const { pathname } = new URL(String(input));
      const method = init?.method ?? 'GET';
      seen.add(`${doc.matchOperation(method, pathname) ?? 'unattached'} ${res.status}`);
      return res;
    };
    await runContract({ baseUrl: standIn.baseUrl, fetch: recording });
    const documented = [
      ...doc.operationIds().flatMap((id) => doc.documentedStatuses(id).map((status) => `${id} ${status}`)),
      'unattached 404',
      'unattached 405',
    ];
    expect(documented.filter((d) => !seen.has(d))).toEqual([]);
  });

  it.each(BREAKAGES)('fails against a stand-in that $name', async (breakage) => {
    const proxy = await startBrokenProxy(standIn.baseUrl, breakage);
    try {
      const outcomes = await runContract({ baseUrl: proxy.url });
      const failed = namesWhere(outcomes, false);
      const mustPass =
        breakage.mustPass === '*'
          ? CONTRACT_CHECKS.map((c) => c.name).filter((n) => !breakage.mustFail.includes(n))
          : breakage.mustPass;
      expect({ missedFailures: breakage.mustFail.filter((n) => !failed.includes(n)) }).toEqual({ missedFailures: [] });
      expect({ unexpectedFailures: failures(outcomes.filter((o) => mustPass.includes(o.name))) }).toEqual({
        unexpectedFailures: [],
      });
      const first = outcomes.find((o) => o.name === breakage.mustFail[0]);
      expect((first?.error as ContractError | undefined)?.code).toBe('CONTRACT_ERR_ASSERTION');
      expect(first?.error?.message).toContain(breakage.messageMentions);
    } finally {
      await proxy.close();
    }
  });

  it('fails every check with CONTRACT_ERR_UNREACHABLE when nothing answers', async () => {
    const closed = await startBrokenProxy(standIn.baseUrl, {
      name: 'closed',
      mustFail: [],
      mustPass: [],
      messageMentions: '',
    });
    await closed.close();
    const outcomes = await runContract({ baseUrl: closed.url, timeoutMs: 2000 });
    expect(outcomes.map((o) => [o.name, (o.error as ContractError | undefined)?.code])).toEqual(
      CONTRACT_CHECKS.map((c) => [c.name, 'CONTRACT_ERR_UNREACHABLE']),
    );
  });
});
