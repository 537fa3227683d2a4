import { dereferenceInternal, refParserStandIn } from './ref-parser-shim';

describe('the ref parser stand-in used under jest', () => {
  it('replaces internal $refs with copies of their targets, siblings ignored', () => {
    const doc = {
      a: { $ref: '#/components/x~1y', description: 'ignored sibling' },
      list: [{ $ref: '#/components/z' }],
      components: { 'x/y': { type: 'string' }, z: { b: { $ref: '#/components/x~1y' } } },
    };
    expect(dereferenceInternal(doc)).toEqual({
      a: { type: 'string' },
      list: [{ b: { type: 'string' } }],
      components: { 'x/y': { type: 'string' }, z: { b: { type: 'string' } } },
    });
    expect(doc.a.$ref).toBe('#/components/x~1y'); // the input is left alone
  });

  it.each([
    [{ a: { $ref: 'other.yaml#/x' } }, /only internal \$refs/],
    [{ a: { $ref: '#/nowhere' } }, /points nowhere/],
    [{ a: { $ref: '#/b' }, b: { c: { $ref: '#/a' } } }, /circular \$ref: #\/b → #\/a → #\/b/],
  ])('rejects %j', (doc, message) => {
    expect(() => dereferenceInternal(doc)).toThrow(message);
  });

  it('has the module shape openapi-backend reads, and refuses file paths', async () => {
    const doc = { x: { $ref: '#/y' }, y: 1 };
    await expect(refParserStandIn.default.parse(doc)).resolves.toBe(doc);
    await expect(refParserStandIn.default.dereference(doc)).resolves.toEqual({ x: 1, y: 1 });
    await expect(refParserStandIn.default.dereference('openapi.yaml')).rejects.toThrow(/in-memory/);
    await expect(refParserStandIn.default.resolve()).rejects.toThrow(/in-memory/);
  });
});
