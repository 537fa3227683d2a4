import { jsonBodyOf, rawExchange, startTestProxy, statusOf, type TestProxy } from './testing/harness';
import { monolithAndService, startUpstream, type TestUpstream } from './testing/upstreams';
import { PROXY_ERRORS, type ProxyErrorCode } from './errors';

/**
 * Each malformed or ambiguous request either gets a clear 4xx from the proxy (and reaches no upstream),
 * or is forwarded byte for byte to the upstream that the most lenient server would route it to.
 */
describe('bad input', () => {
  let mono: TestUpstream;
  let dm: TestUpstream;
  let p: TestProxy;

  beforeAll(async () => {
    mono = await startUpstream('monolith');
    dm = await startUpstream('device-management');
    p = await startTestProxy(
      {
        upstreams: monolithAndService(mono.url, dm.url),
        routes: [{ id: 'turn-on', methods: ['POST'], path: '/api/heating/:id/turn-on', target: 'device-management' }],
      },
      { maxHeaderBytes: 8 * 1024 },
    );
  });
  afterAll(async () => {
    await p.close();
    await mono.close();
    await dm.close();
  });
  beforeEach(() => {
    mono.seen.length = 0;
    dm.seen.length = 0;
  });

  const refused = async (request: string, status: number, code: ProxyErrorCode): Promise<string> => {
    const raw = await rawExchange(p.port, request);
    expect(statusOf(raw)).toBe(status);
    expect(jsonBodyOf(raw)).toMatchObject({ code, status, title: PROXY_ERRORS[code].message });
    expect(raw).toMatch(/\r\ncontent-type: application\/problem\+json\r\n/);
    expect(mono.seen).toHaveLength(0);
    expect(dm.seen).toHaveLength(0);
    return raw;
  };

  describe('message framing (request smuggling guards)', () => {
    it('refuses Content-Length together with Transfer-Encoding', async () => {
      await refused(
        'POST /api/heating/1/turn-on HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
        'PROXY_ERR_BAD_FRAMING',
      );
    });
    it('refuses two different Content-Length values', async () => {
      await refused(
        'POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde',
        400,
        'PROXY_ERR_BAD_FRAMING',
      );
    });
    it('refuses a non-numeric Content-Length', async () => {
      await refused('POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 4x\r\n\r\nabcd', 400, 'PROXY_ERR_BAD_FRAMING');
    });
    it('refuses a Transfer-Encoding that does not end in chunked', async () => {
      await refused(
        'POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
        400,
        'PROXY_ERR_BAD_FRAMING',
      );
    });
    it('refuses an obfuscated Transfer-Encoding', async () => {
      await refused(
        'POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n',
        400,
        'PROXY_ERR_BAD_FRAMING',
      );
    });
    it('refuses an invalid chunk size, answering 400 and closing', async () => {
      const raw = await rawExchange(
        p.port,
        'POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
      );
      expect(statusOf(raw)).toBe(400);
      expect(jsonBodyOf(raw)).toMatchObject({ code: 'PROXY_ERR_BAD_FRAMING' });
    });
  });

  describe('malformed request line and headers', () => {
    it('refuses a malformed request line', async () => {
      await refused('GET /x HTTP/1.1 extra\r\nHost: h\r\n\r\n', 400, 'PROXY_ERR_MALFORMED_REQUEST');
    });
    it('refuses an unknown HTTP version', async () => {
      await refused('GET /x HTTP/9.9\r\nHost: h\r\n\r\n', 400, 'PROXY_ERR_MALFORMED_REQUEST');
    });
    it('refuses whitespace between a header name and the colon', async () => {
      await refused('GET /x HTTP/1.1\r\nHost: h\r\nX-Bad : 1\r\n\r\n', 400, 'PROXY_ERR_MALFORMED_REQUEST');
    });
    it('refuses obsolete line folding', async () => {
      await refused('GET /x HTTP/1.1\r\nHost: h\r\nX-Folded: a\r\n b\r\n\r\n', 400, 'PROXY_ERR_MALFORMED_REQUEST');
    });
    it('refuses a bare LF line ending inside headers', async () => {
      await refused('GET /x HTTP/1.1\r\nHost: h\nX-A: 1\r\n\r\n', 400, 'PROXY_ERR_MALFORMED_REQUEST');
    });
    it('refuses a NUL byte in a header value', async () => {
      await refused('GET /x HTTP/1.1\r\nHost: h\r\nX-A: a\u0000b\r\n\r\n', 400, 'PROXY_ERR_MALFORMED_REQUEST');
    });
    it('refuses an HTTP/1.1 request without Host', async () => {
      await refused('GET /x HTTP/1.1\r\nX-A: 1\r\n\r\n', 400, 'PROXY_ERR_MALFORMED_REQUEST');
    });
    it('refuses two Host headers', async () => {
      await refused('GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400, 'PROXY_ERR_MALFORMED_REQUEST');
    });
    it('refuses raw spaces and control characters in the request target', async () => {
      await refused('GET /api/heating/1\u0001 HTTP/1.1\r\nHost: h\r\n\r\n', 400, 'PROXY_ERR_MALFORMED_REQUEST');
    });
  });

  describe('absurd sizes', () => {
    it('answers 431 to one enormous header', async () => {
      await refused(
        `GET /x HTTP/1.1\r\nHost: h\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
        431,
        'PROXY_ERR_HEADERS_TOO_LARGE',
      );
    });
    it('answers 431 to thousands of small headers', async () => {
      const many = Array.from({ length: 3_000 }, (_, i) => `X-${i}: v\r\n`).join('');
      await refused(`GET /x HTTP/1.1\r\nHost: h\r\n${many}\r\n`, 431, 'PROXY_ERR_HEADERS_TOO_LARGE');
    });
    it('answers 431 to an enormous URL', async () => {
      await refused(`GET /x?${'q'.repeat(20_000)} HTTP/1.1\r\nHost: h\r\n\r\n`, 431, 'PROXY_ERR_HEADERS_TOO_LARGE');
    });
    it('forwards many headers under the size limit, all of them', async () => {
      const many = Array.from({ length: 300 }, (_, i) => `X-H${i}: ${i}\r\n`).join('');
      const raw = await rawExchange(p.port, `GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n${many}\r\n`);
      expect(statusOf(raw)).toBe(200);
      expect(mono.seen[0]!.headers['x-h299']).toBe('299');
    });
  });

  describe('encoded path tricks', () => {
    it.each([
      ['/api/heating/1/%2e%2e/%2e%2e/admin', 'dot segment'],
      ['/api/heating/1/%2E%2E/turn-on', 'dot segment'],
      ['/api/heating/../heating/1/turn-on', 'dot segment'],
      ['/api/heating/1/./turn-on', 'dot segment'],
      ['/api/heating/1%2Fturn-on', 'encoded "/"'],
      ['/api/heating/1%2fturn-on', 'encoded "/"'],
      ['/api/heating/1%5Cturn-on', 'encoded "/" or "\\"'],
      ['/api//heating/1/turn-on', 'empty path segment'],
      ['//api/heating/1/turn-on', 'empty path segment'],
      ['/api/heating/1/turn-on%00', 'control character'],
      ['/api/heating/%zz/turn-on', 'invalid percent-encoding'],
      ['/api/heating/%C0%AE%C0%AE/turn-on', 'not valid UTF-8'],
    ])('refuses %s (%s) with 400', async (target, reason) => {
      const raw = await refused(
        `POST ${target} HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n`,
        400,
        'PROXY_ERR_AMBIGUOUS_PATH',
      );
      expect((jsonBodyOf(raw) as { detail: string }).detail).toContain(reason);
    });

    it('refuses a raw backslash in the path', async () => {
      const raw = await rawExchange(
        p.port,
        'POST /api/heating/1\\turn-on HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n',
      );
      expect(statusOf(raw)).toBe(400);
      expect(mono.seen.length + dm.seen.length).toBe(0);
    });

    it('refuses asterisk-form (OPTIONS *)', async () => {
      await refused('OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n', 400, 'PROXY_ERR_UNSUPPORTED_TARGET');
    });

    it('refuses CONNECT with 405', async () => {
      const raw = await rawExchange(p.port, 'CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n');
      expect(statusOf(raw)).toBe(405);
      expect(mono.seen.length + dm.seen.length).toBe(0);
    });

    it.each([
      ['/api/heat%69ng/7/turn-on', 'percent-encoded letter'],
      ['/API/Heating/7/TURN-ON', 'letter case'],
      ['/api/heating/7/turn-on/', 'trailing slash'],
      ['/api/heating/7;jsessionid=abc/turn-on;v=1', 'matrix parameters'],
      ['/api/heating/%37/turn-on?x=%2F..%2F', 'encoded id and tricky query'],
    ])('forwards %s (%s) byte for byte to the route the upstream would serve', async (target) => {
      const raw = await rawExchange(
        p.port,
        `POST ${target} HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
      );
      expect(statusOf(raw)).toBe(200);
      expect(raw).toMatch(/x-strangler-route: turn-on/i);
      expect(dm.seen.map((s) => s.url)).toEqual([target]);
      expect(mono.seen).toHaveLength(0);
    });

    it('forwards an absolute-form request in origin-form, routed on its path', async () => {
      const raw = await rawExchange(
        p.port,
        'POST http://elsewhere.test/api/heating/7/turn-on?q=1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
      );
      expect(statusOf(raw)).toBe(200);
      expect(dm.seen.map((s) => s.url)).toEqual(['/api/heating/7/turn-on?q=1']);
    });
  });
});
