import { readinessReport } from './readiness';

describe('readinessReport', () => {
  it('is ready when every check passes', async () => {
    await expect(readinessReport([{ name: 'database', check: async () => true }])).resolves.toEqual({
      status: 'ready',
      checks: { database: 'ready' },
    });
  });

  it('names every failing check with its reason: a string, a throw or a timeout', async () => {
    const report = await readinessReport(
      [
        { name: 'database', check: async () => true },
        { name: 'relay', check: async () => 'stopped' },
        { name: 'kafka', check: () => Promise.reject(new Error('connect ECONNREFUSED')) },
        { name: 'slow', check: () => new Promise<true>(() => undefined) },
      ],
      { timeoutMs: 20 },
    );
    expect(report).toEqual({
      status: 'not ready',
      checks: {
        database: 'ready',
        relay: 'stopped',
        kafka: 'connect ECONNREFUSED',
        slow: 'slow timed out after 20 ms',
      },
    });
  });
});
