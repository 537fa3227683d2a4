import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in "service" the test controls: it answers every request by asking the stand-in (so its answers equal
 * the monolith's and shadow comparisons agree), or with 500 while `failing` is set.
 */
export async function startControlledService(standInUrl: string) {
  const state = { failing: false, served: 0 };
  const server = http.createServer((req, res) => {
    req.resume();
    state.served++;
    if (state.failing) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"status":500,"error":"Internal Server Error"}');
      return;
    }
    void fetch(`${standInUrl}${req.url}`, { method: req.method }).then(
      async (up) => {
        const body = Buffer.from(await up.arrayBuffer());
        res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' });
        res.end(body);
      },
      () => {
        res.writeHead(502);
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    state,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
