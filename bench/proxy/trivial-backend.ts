/** A trivial backend for the proxy benchmark: a 70-byte JSON body for every request. `PORT` from the environment. */
import http from 'node:http';

const body = Buffer.from(
  JSON.stringify({ id: 1, targetTemperature: 20.0, currentTemperature: 0.0, on: false, x: 'pad' }),
);
const port = Number(process.env.PORT ?? 0);
http
  .createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  })
  .listen(port, '127.0.0.1', () => process.stdout.write(`trivial backend on ${port}\n`));
