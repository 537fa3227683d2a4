import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { waitFor } from '@warmhouse/shared';
import {
  assertPortsFree,
  ForeignListenerError,
  isAlive,
  listenerOwnership,
  PidRegistry,
  PortsInUseError,
  startProcess,
  untilReady,
} from './processes';
import { listenersOn, procStat } from './sockets';

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

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

  it('names the program holding the port (here: this test process), in one line', async () => {
    const server = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const err = await assertPortsFree({ 'monolith stand-in': port }, { hint: 'choose another X' }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PortsInUseError);
      expect((err as PortsInUseError).exitCode).toBe(3);
      expect((err as Error).message).toContain(`port ${port} (monolith stand-in) is in use by pid ${process.pid} (`);
      expect((err as Error).message).toContain('choose another X');
      expect((err as Error).message).not.toContain('\n');
    } finally {
      server.close();
    }
  });

  it('counts a listener that accepts and never answers as taken', async () => {
    const server = net.createServer(() => undefined).listen(0, '127.0.0.1'); // accepts, never writes
    await new Promise((resolve) => server.once('listening', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      await expect(assertPortsFree({ telemetry: port })).rejects.toThrow(`port ${port} (telemetry)`);
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

describe('assertPortsFree for a (re)start within a stack', () => {
  it('waits for a port still held by an earlier process of the stack, and refuses it without the stack', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'restart-'));
    const registry = new PidRegistry(path.join(dir, 'pids.json'));
    const port = await freePort();
    // like a JVM being stopped: the listener stays open for a while after SIGTERM
    const previous = startProcess({
      name: 'worker',
      command: process.execPath,
      args: [
        '-e',
        `require('net').createServer().listen(${port}, '127.0.0.1');
         process.on('SIGTERM', () => setTimeout(() => process.exit(0), 1500));
         setInterval(() => {}, 1000);`,
      ],
      logFile: path.join(dir, 'worker.log'),
      registry,
      marker: 'worker',
    });
    const ownStack = { registry, stateDir: dir };
    try {
      await waitFor('the worker to listen', () => (listenersOn(port).pids.includes(previous.pid) ? true : undefined), {
        timeoutMs: 20_000,
      });
      // a plain check (nothing of the stack known) refuses it as it would any program
      await expect(assertPortsFree({ worker: port })).rejects.toThrow(
        `port ${port} (worker) is in use by pid ${previous.pid}`,
      );
      // the stack's own process that does not go away: waited for, then refused naming it, within the deadline
      const started = Date.now();
      const late = await assertPortsFree({ worker: port }, { ownStack, waitMs: 700 }).catch((e: unknown) => e);
      expect(late).toBeInstanceOf(PortsInUseError);
      expect((late as Error).message).toContain(`pid ${previous.pid}`);
      expect((late as Error).message).toContain('of this same stack that did not exit within 1 s');
      expect(Date.now() - started).toBeGreaterThanOrEqual(700);

      process.kill(previous.pid, 'SIGTERM');
      expect(listenersOn(port).listening).toBe(true); // still held: the restart has to wait
      await expect(assertPortsFree({ worker: port }, { ownStack, waitMs: 20_000 })).resolves.toBeUndefined();
      expect(listenersOn(port).listening).toBe(false);
    } finally {
      await previous.stop(2_000);
    }
  });

  it('refuses a foreign holder at once even with the stack known', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'restart-'));
    const server = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const started = Date.now();
      const err = await assertPortsFree(
        { 'Kafka Connect': port },
        { ownStack: { registry: new PidRegistry(path.join(dir, 'pids.json')), stateDir: dir }, nothingStarted: false },
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PortsInUseError);
      expect((err as Error).message).toContain(`port ${port} (Kafka Connect) is in use by pid ${process.pid}`);
      expect((err as Error).message).toContain('it was not started');
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      server.close();
    }
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

describe('PidRegistry incarnations', () => {
  it('remembers stopped and exited processes, and an old exit does not forget the new entry of the same name', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pids-'));
    const registry = new PidRegistry(path.join(dir, 'pids.json'));
    const first = startProcess({
      name: 'connect',
      command: process.execPath,
      args: ['-e', 'setInterval(() => {}, 1000)'],
      logFile: path.join(dir, 'first.log'),
      registry,
      marker: 'connect',
    });
    const firstStart = procStat(first.pid)?.startTime;
    await first.stop(2_000);
    const second = startProcess({
      name: 'connect',
      command: process.execPath,
      args: ['-e', 'setInterval(() => {}, 1000)'],
      logFile: path.join(dir, 'second.log'),
      registry,
      marker: 'connect',
    });
    try {
      await first.exited;
      registry.remove('connect', first.pid); // what the first one's exit handler does: must not touch the second
      expect(registry.pidOf('connect')).toBe(second.pid);
      expect(registry.retired()).toContainEqual({ pid: first.pid, startTime: firstStart });
      expect(registry.incarnations().map((i) => i.pid)).toEqual(expect.arrayContaining([first.pid, second.pid]));
    } finally {
      await second.stop(2_000);
    }
  });
});

describe('listenerOwnership', () => {
  it('tells our own listener from a foreign one, and an unused port from both', async () => {
    const server = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      expect(listenerOwnership('this test', process.pid, port)).toBe('ours');
      // as if we had started pid 1 to listen there: the answer comes from someone else
      expect(() => listenerOwnership('the service', 1, port)).toThrow(ForeignListenerError);
      expect(() => listenerOwnership('the service', 1, port)).toThrow(`held by pid ${process.pid}`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(listenerOwnership('this test', process.pid, port)).toBe('none');
  });
});

describe('isAlive', () => {
  it('counts an exited process that nobody reaps (a zombie) as gone', async () => {
    // sh starts `true` in the background, prints its pid, and becomes `sleep`, which never reaps it
    const parent = spawn('sh', ['-c', 'true & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number(
        await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(String(d)))),
      );
      await waitFor('the background child to exit', () => (isAlive(pid) ? undefined : true), { timeoutMs: 20_000 });
      // usually still in the process table (kill(pid, 0) succeeds), unless a subreaper collected it meanwhile (seen
      // in CI): either way it is gone for every purpose of the stack
      expect(isAlive(pid)).toBe(false);
      expect(isAlive(process.pid)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});

const python3 = spawnSync('python3', ['-c', 'import ctypes'], { stdio: 'ignore' }).status === 0;

describe('a process whose leader thread exited while another thread runs', () => {
  // what a JVM looks like while it is torn down: /proc/<pid>/stat says Z, /proc/<pid>/fd and cmdline read empty,
  // yet another thread still holds the listening socket. python3 (ctypes) is the simplest way to make one.
  (python3 ? it : it.skip)('is alive, and is named as the holder of its port', async () => {
    const port = await freePort();
    const script = [
      'import ctypes, socket, sys, threading, time',
      'def serve():',
      '    s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()',
      '    print("listening", flush=True); time.sleep(60)',
      'threading.Thread(target=serve).start()',
      'time.sleep(0.2)',
      'ctypes.CDLL(None).pthread_exit(None)',
    ].join('\n');
    const child = spawn('python3', ['-c', script, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = child.pid!;
    try {
      await waitFor(
        'the leader thread to exit while the listener runs',
        () => (procStat(pid)?.state === 'Z' && listenersOn(port).listening ? true : undefined),
        { timeoutMs: 20_000 },
      );
      expect(isAlive(pid)).toBe(true);
      expect(listenersOn(port).pids).toEqual([pid]);
    } finally {
      child.kill('SIGKILL');
    }
    await waitFor('the process to be gone', () => (isAlive(pid) ? undefined : true), { timeoutMs: 20_000 });
    expect(listenersOn(port).listening).toBe(false);
  });
});

describe('untilReady', () => {
  it('fails at once, naming the holder, when another program holds the port the child was started for', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ready-'));
    // the squatter accepts and never answers: a probe through it would hang, readiness must not
    const squatter = net.createServer(() => undefined).listen(0, '127.0.0.1');
    await new Promise((resolve) => squatter.once('listening', resolve));
    const port = (squatter.address() as net.AddressInfo).port;
    const child = startProcess({
      name: 'service',
      command: process.execPath,
      args: ['-e', 'setInterval(() => {}, 1000)'],
      logFile: path.join(dir, 'service.log'),
    });
    let stopProbe = () => undefined as void;
    try {
      const abort = new AbortController();
      stopProbe = () => abort.abort();
      const probe = waitFor(
        'an answer',
        () =>
          abort.signal.aborted ? false : fetch(`http://127.0.0.1:${port}/`, { signal: abort.signal }).then(() => true),
        { timeoutMs: 60_000 },
      );
      probe.catch(() => undefined);
      const err = await untilReady(child, child.logFile, probe, [port]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ForeignListenerError);
      expect((err as Error).message).toContain(`port ${port} is held by pid ${process.pid}`);
      expect((err as Error).message).toContain(`not by service (pid ${child.pid})`);
    } finally {
      stopProbe();
      await child.stop(2_000);
      squatter.close();
    }
  });

  it('passes once the child itself listens on its port', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ready-'));
    const free = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => free.once('listening', resolve));
    const port = (free.address() as net.AddressInfo).port;
    await new Promise((resolve) => free.close(resolve));
    const child = startProcess({
      name: 'service',
      command: process.execPath,
      args: ['-e', `require('http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`],
      logFile: path.join(dir, 'service.log'),
    });
    try {
      const probe = waitFor('an answer', () => fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok || undefined), {
        timeoutMs: 60_000,
      });
      await expect(untilReady(child, child.logFile, probe, [port])).resolves.toBe(true);
    } finally {
      await child.stop(2_000);
    }
  });
});
