import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CDC_ERRORS, cdcError, hasCode, type CdcErrorCode } from './errors';

function testSources(dir: string): string {
  return readdirSync(dir, { withFileTypes: true })
    .map((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return testSources(full);
      return entry.name.endsWith('.test.ts') && entry.name !== 'errors.test.ts' ? readFileSync(full, 'utf8') : '';
    })
    .join('\n');
}

describe('CDC error registry', () => {
  it('gives each error its registered status and retriability, and keeps the cause', () => {
    const cause = new Error('socket hang up');
    const err = cdcError('CDC_ERR_CONNECT_UNREACHABLE', 'Kafka Connect at http://x is not reachable', { cause });
    expect(err).toMatchObject({ code: 'CDC_ERR_CONNECT_UNREACHABLE', status: 503, retriable: true, cause });
    expect(cdcError('CDC_ERR_EVENT_MALFORMED', 'bad').retriable).toBe(false);
    expect(hasCode(err, 'CDC_ERR_CONNECT_UNREACHABLE')).toBe(true);
    expect(hasCode(new Error('x'), 'CDC_ERR_CONNECT_UNREACHABLE')).toBe(false);
  });

  const sources = testSources(__dirname);
  it.each(Object.keys(CDC_ERRORS) as CdcErrorCode[])('%s is exercised by a test', (code) => {
    expect(sources).toContain(`'${code}'`);
  });
});
