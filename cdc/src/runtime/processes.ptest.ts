import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { assertPortsFree, PidRegistry, startProcess } from './processes';

describe('assertPortsFree', () => {
  it('names the port and what needs it when something else listens there', async () => {
    const server = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      await expect(assertPortsFree({ kafka: port })).rejects.toThrow(`${port} (kafka)`);
    } finally {
      server.close();
    }
  });

  it('passes when the ports are free', async () => {
    const server = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    await expect(assertPortsFree({ kafka: port })).resolves.toBeUndefined();
  });
});

describe('PidRegistry', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pids-'));

  it('stops a recorded leftover by pid, and only when its command line still carries the marker', async () => {
    const registry = new PidRegistry(path.join(dir, 'pids.json'));
    const marker = `leftover-${process.pid}-${Date.now()}`;
    const child = startProcess({
      name: 'sleeper',
      command: process.execPath,
      args: ['-e', 'setInterval(() => {}, 1000)', marker],
      logFile: path.join(dir, 'sleeper.log'),
      registry,
      marker,
    });
    // a second entry whose pid is alive but is not ours (this test process): it must survive
    registry.add('not-ours', process.pid, 'a marker our command line does not contain');

    await new PidRegistry(path.join(dir, 'pids.json')).stopLeftovers(() => undefined);

    await expect(child.exited).resolves.not.toBeUndefined();
    expect(() => process.kill(process.pid, 0)).not.toThrow();
  });
});
