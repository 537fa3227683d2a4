/** The same schema without `description` keywords (CRD schemas are mostly prose). */
export function stripDescriptions(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripDescriptions);
  if (node && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node)
        .filter(([k]) => k !== 'description')
        .map(([k, v]) => [k, stripDescriptions(v)]),
    );
  }
  return node;
}
