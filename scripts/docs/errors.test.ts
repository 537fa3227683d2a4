import { readFileSync } from 'node:fs';
import path from 'node:path';
import { errorCatalog, problemType } from '../../packages/shared/src/problem';
import { problemBody } from '../../proxy/src/errors';
import { monitorErrors } from '../../cdc-monitor/src/errors';
import { CATALOGS, docComments, errorsDoc } from './errors';

const ROOT = path.resolve(__dirname, '..', '..');
const doc = readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8');
const codes = CATALOGS.flatMap((c) => Object.keys(c.entries));

describe('docs/errors.md', () => {
  it('is what the catalogs generate (run `npm run docs:errors` after changing a catalog)', () => {
    expect(doc).toBe(errorsDoc());
  });

  it('has an anchor for every code, the one its problem type names', () => {
    const headings = new Set([...doc.matchAll(/^### (.+)$/gm)].map((m) => m[1]!));
    const type = (code: string) => problemType(code).replace(/^urn:warmhouse:problem:/, '');
    expect(codes.filter((code) => !headings.has(type(code)))).toEqual([]);
    expect(headings.size).toBe(codes.length);
    // the bodies the proxy and the monitor answer carry exactly that type
    expect(problemBody('PROXY_ERR_INTERNAL').type).toBe('urn:warmhouse:problem:proxy-err-internal');
    expect(headings.has('proxy-err-internal')).toBe(true);
    expect(monitorErrors.problem('CDC_MONITOR_FORBIDDEN', 'x').type).toBe(
      'urn:warmhouse:problem:cdc-monitor-forbidden',
    );
    expect(headings.has('cdc-monitor-forbidden')).toBe(true);
  });

  it('gives every code a description, and no code or anchor twice', () => {
    const undocumented = CATALOGS.flatMap((c) => {
      const docs = docComments(readFileSync(path.join(ROOT, c.file), 'utf8'));
      return Object.keys(c.entries).filter((code) => !docs.get(code));
    });
    expect(undocumented).toEqual([]);
    expect(new Set(codes).size).toBe(codes.length);
    expect(new Set(codes.map(problemType)).size).toBe(codes.length);
  });

  it('reads the doc comment above each code, and fails a catalog whose code has none', () => {
    const source = [
      'export const X = {',
      '  /** One line. */',
      "  X_ERR_A: { status: 400, retriable: false, title: 'a' },",
      '  /**',
      '   * Two',
      '   * lines.',
      '   */',
      '  X_ERR_B: { status: 500, retriable: false },',
      '  X_ERR_C: { status: 500, retriable: false },',
      '};',
    ].join('\n');
    expect([...docComments(source)]).toEqual([
      ['X_ERR_A', 'One line.'],
      ['X_ERR_B', 'Two lines.'],
    ]);
    const generated = errorsDoc((f) =>
      f === 'proxy/src/errors.ts' ? 'no comments' : readFileSync(path.join(ROOT, f), 'utf8'),
    );
    expect(generated).not.toBe(doc);
    expect(generated).toContain('(no description)');
    expect(errorCatalog({ X_ERR_A: { status: 400, retriable: false } }).problem('X_ERR_A', 'd').type).toBe(
      problemType('X_ERR_A'),
    );
  });
});
