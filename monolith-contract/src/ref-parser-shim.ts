/**
 * openapi-backend requires @apidevtools/json-schema-ref-parser, which is ESM-only since v12. Node ≥ 20.19 can
 * `require` it; jest's module loader cannot (before Node 24.9) and hides every way around it. Under jest the
 * contract therefore hands openapi-backend this stand-in, which covers what the contract's document needs:
 * `parse` of an already parsed object and `dereference` of internal `#/…` references.
 */

const decodePointerToken = (token: string) => token.replace(/~1/g, '/').replace(/~0/g, '~');

/** Replaces every `{"$ref": "#/…"}` with a copy of its target (siblings of `$ref` are ignored, as in OpenAPI 3.0). */
export function dereferenceInternal<T>(document: T): T {
  const root: unknown = structuredClone(document);
  const target = (ref: string): unknown => {
    if (!ref.startsWith('#/')) throw new Error(`only internal $refs are supported, got ${JSON.stringify(ref)}`);
    return ref
      .slice(2)
      .split('/')
      .map(decodePointerToken)
      .reduce<unknown>((node, key) => {
        const next = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
        if (next === undefined) throw new Error(`$ref ${ref} points nowhere`);
        return next;
      }, root);
  };
  const walk = (node: unknown, trail: readonly string[]): unknown => {
    if (Array.isArray(node)) return node.map((item) => walk(item, trail));
    if (node === null || typeof node !== 'object') return node;
    const ref = (node as { $ref?: unknown }).$ref;
    if (typeof ref === 'string') {
      if (trail.includes(ref)) throw new Error(`circular $ref: ${[...trail, ref].join(' → ')}`);
      return walk(target(ref), [...trail, ref]);
    }
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, walk(value, trail)]));
  };
  return walk(root, []) as T;
}

const unsupported = async () => {
  throw new Error('json-schema-ref-parser stand-in: only parse and dereference of in-memory documents');
};

/** The module shape openapi-backend's `refparser.js` reads (`.default.parse/dereference/resolve`). */
export const refParserStandIn = {
  __esModule: true,
  default: {
    parse: async <T>(document: T) => {
      if (typeof document !== 'object' || document === null) return unsupported();
      return document;
    },
    dereference: async <T>(document: T) => {
      if (typeof document !== 'object' || document === null) return unsupported();
      return dereferenceInternal(document);
    },
    resolve: unsupported,
  },
};
