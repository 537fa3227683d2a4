import type { Queryable } from '@warmhouse/shared';
import { isDeviceError } from '../errors';
import { applyHeatingBatch } from './heating-apply';
import type { BatchChange } from './heating-plan';

/** A fake transaction: answers by statement, records every statement, and can fail one. */
function fakeTx(opts: { fail?: { match: string; code: string }; written?: (n: number) => number } = {}) {
  const statements: string[] = [];
  const tx = {
    query: async (sql: string, values: unknown[]) => {
      statements.push(sql.trim().split(/\s+/).slice(0, 3).join(' '));
      if (opts.fail && sql.includes(opts.fail.match)) throw Object.assign(new Error('pg'), { code: opts.fail.code });
      if (sql.includes('INSERT INTO devices')) {
        const n = (values[0] as unknown[]).length;
        return { rows: [], rowCount: opts.written ? opts.written(n) : n };
      }
      return { rows: [], rowCount: 0 };
    },
  };
  return { tx: tx as unknown as Queryable, statements };
}

const changes = (rows: number, perRow: number): BatchChange[] =>
  Array.from({ length: rows * perRow }, (_, i) => ({
    legacyId: BigInt(1 + (i % rows)),
    op: 'c' as const,
    after: { id: 1 + (i % rows), is_on: true, target_temperature: 20 + i, current_temperature: 18 },
    lsn: BigInt(1000 + i),
    txId: 1000 + i,
  }));

describe('applyHeatingBatch', () => {
  it('applies any number of changes in 4 statements (lock, write-backs, upsert, outbox) when nothing echoes', async () => {
    const { tx, statements } = fakeTx();
    const applied = await applyHeatingBatch(tx, changes(3, 40), { newId: () => crypto.randomUUID() });
    expect(statements).toEqual([
      'SELECT id, seq,',
      'SELECT event_id, device_id,',
      'INSERT INTO devices',
      'WITH added AS',
    ]);
    expect(applied.statements).toBe(4);
    expect(applied.plans.map((p) => p.results.length)).toEqual([40, 40, 40]);
  });

  it.each([
    ['a deadlock', '40P01'],
    ['a serialization failure', '40001'],
  ])('%s is a retriable DEVICE_ERR_SYNC_CONFLICT', async (_name, code) => {
    const { tx } = fakeTx({ fail: { match: 'INSERT INTO devices', code } });
    const err = await applyHeatingBatch(tx, changes(2, 2)).catch((e: unknown) => e);
    expect(isDeviceError(err) && err.code).toBe('DEVICE_ERR_SYNC_CONFLICT');
    expect((err as { retriable?: boolean }).retriable).toBe(true);
  });

  it('a row another writer changed meanwhile (fewer rows written) is a conflict: nothing may commit', async () => {
    const { tx, statements } = fakeTx({ written: (n) => n - 1 });
    const err = await applyHeatingBatch(tx, changes(2, 2)).catch((e: unknown) => e);
    expect(isDeviceError(err) && err.code).toBe('DEVICE_ERR_SYNC_CONFLICT');
    expect(statements).not.toContain('WITH added AS');
  });

  it('any other failure is passed on as it is (the per-change path decides: retry or dead letter)', async () => {
    const { tx } = fakeTx({ fail: { match: 'INSERT INTO devices', code: '22P02' } });
    const err = await applyHeatingBatch(tx, changes(1, 1)).catch((e: unknown) => e);
    expect(isDeviceError(err)).toBe(false);
  });
});
