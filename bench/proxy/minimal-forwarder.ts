/**
 * Reference point for the proxy benchmark: the smallest correct-enough undici Pool forwarder (no routing,
 * no metrics, no hop-by-hop handling), to show what the strangler proxy's own features cost.
 * `PORT` and `BACKEND_URL` from the environment.
 */
import http from 'node:http';
import { Pool } from 'undici';

const pool = new Pool(process.env.BACKEND_URL!, { connections: 256 });
http
  .createServer((req, res) => {
    pool.stream(
      {
        path: req.url!,
        method: req.method!,
        headers: { 'x-forwarded-for': req.socket.remoteAddress ?? '' },
        body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
        opaque: res,
      },
      ({ statusCode, headers, opaque }) => {
        const out = opaque as http.ServerResponse;
        delete headers.connection;
        delete headers['keep-alive'];
        delete headers['transfer-encoding'];
        out.writeHead(statusCode, headers as http.OutgoingHttpHeaders);
        return out;
      },
      (err) => {
        if (err && !res.headersSent) {
          res.statusCode = 502;
          res.end();
        }
      },
    );
  })
  .listen(Number(process.env.PORT), '127.0.0.1');
