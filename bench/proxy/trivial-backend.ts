/**
 * A trivial backend for the proxy benchmark: a 70-byte JSON body for every request. `PORT` from the environment;
 * `DELAY_MS` delays every answer (the slow shadow target of the shadow scenario).
 */
import http from 'node:http';

const body = Buffer.from(
  JSON.stringify({ id: 1, targetTemperature: 20.0, currentTemperature: 0.0, on: false, x: 'pad' }),
);
const port = Number(process.env.PORT ?? 0);
const delayMs = Number(process.env.DELAY_MS ?? 0);
http
  .createServer((req, res) => {
    req.resume();
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  })
  .listen(port, '127.0.0.1', () => process.stdout.write(`trivial backend on ${port}\n`));
