import { createLogger } from '@warmhouse/shared';
import type { Pool } from 'pg';
import { createFirstReadingWatcher } from './first-reading-watcher';

describe('first-reading watcher: one replica reports each device', () => {
  it('claims the devices (SKIP LOCKED), publishes and marks them in one transaction', async () => {
    const steps: string[] = [];
    const client = {
      query: (text: string) => {
        const sql = text.trim();
        if (sql.startsWith('SELECT p.device_id')) {
          steps.push(sql.includes('FOR UPDATE OF p SKIP LOCKED') ? 'claim' : 'select without claim');
          return Promise.resolve({
            rows: [
              {
                device_id: '3b9a1f4e-2c7d-4e8a-9b1c-5d6e7f8a9b0c',
                saga_id: '7f0c3d7e-8d61-4a55-9a0e-0d4f3c1f9e11',
                measured_at: new Date(0),
              },
            ],
            rowCount: 1,
          });
        }
        steps.push(sql.split(/\s+/).slice(0, 2).join(' '));
        return Promise.resolve({ rows: [], rowCount: 1 });
      },
      release: () => undefined,
    };
    const pool = {
      connect: () => Promise.resolve(client),
      query: () => Promise.reject(new Error('outside the transaction')),
    } as unknown as Pool;
    const watcher = createFirstReadingWatcher({
      pool,
      producer: {
        publish: () => {
          steps.push('publish');
          return Promise.resolve();
        },
      },
      repliesTopic: 'replies',
      pollMs: 1000,
      logger: createLogger('test', 'silent'),
    });
    await expect(watcher.scan()).resolves.toBe(1);
    expect(steps).toEqual(['BEGIN', 'claim', 'publish', 'UPDATE provisioning.devices', 'COMMIT']);
  });
});
