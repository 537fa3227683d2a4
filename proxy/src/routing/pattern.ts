/** One segment of a compiled path pattern. */
export type PatternSegment =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'wildcard' };

/** A path pattern checked and split once, when the table loads. */
export interface CompiledPattern {
  readonly source: string;
  readonly segments: readonly PatternSegment[];
  /** Specificity key: literal 4, param 3, end of pattern 2, wildcard 1; compared left to right. */
  readonly rank: readonly number[];
}

const RANK = { literal: 4, param: 3, end: 2, wildcard: 1 } as const;
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// RFC 3986 pchar without '%' (no encoded literals: the request side decodes) and without ';' (matrix parameters).
const LITERAL = /^[A-Za-z0-9._~!$&'()*+,=:@-]+$/;

/** Thrown by {@link compilePattern}; the message says what is wrong with the pattern. */
export class PatternError extends Error {}

/**
 * Compiles `/api/heating/:id/turn-on`-style patterns. Literals match case-insensitively (they are stored
 * lowercased); `:name` matches exactly one non-empty segment; a final `*` matches zero or more segments.
 * Patterns may not end with `/` (except the root `/`), contain empty, `.` or `..` segments, or `%`/`;`.
 */
export function compilePattern(source: string): CompiledPattern {
  if (!source.startsWith('/')) throw new PatternError('must start with "/"');
  const raw = source === '/' ? [] : source.slice(1).split('/');
  const segments: PatternSegment[] = [];
  const names = new Set<string>();
  raw.forEach((seg, i) => {
    const last = i === raw.length - 1;
    if (seg === '') throw new PatternError(last ? 'must not end with "/"' : 'must not contain an empty segment ("//")');
    if (seg === '*') {
      if (!last) throw new PatternError('"*" is only allowed as the last segment');
      segments.push({ kind: 'wildcard' });
    } else if (seg.startsWith(':')) {
      const name = seg.slice(1);
      if (!PARAM_NAME.test(name)) throw new PatternError(`invalid parameter name "${seg}"`);
      if (names.has(name)) throw new PatternError(`duplicate parameter "${seg}"`);
      names.add(name);
      segments.push({ kind: 'param', name });
    } else {
      if (seg === '.' || seg === '..') throw new PatternError('must not contain "." or ".." segments');
      if (!LITERAL.test(seg) || seg.includes('*')) throw new PatternError(`invalid characters in segment "${seg}"`);
      segments.push({ kind: 'literal', value: seg.toLowerCase() });
    }
  });
  const rank: number[] = segments.map((s) => RANK[s.kind]);
  if (segments[segments.length - 1]?.kind !== 'wildcard') rank.push(RANK.end);
  return { source, segments, rank };
}

/** Whether the pattern matches the request's decoded, lowercased path segments. */
export function matchPattern(pattern: CompiledPattern, path: readonly string[]): boolean {
  const segs = pattern.segments;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    if (seg.kind === 'wildcard') return true;
    const actual = path[i];
    if (actual === undefined) return false;
    if (seg.kind === 'literal' && seg.value !== actual) return false;
  }
  return segs.length === path.length;
}

/**
 * Orders two patterns by specificity: negative when `a` is more specific. Compared segment by segment from
 * the left, a literal beats a parameter, a parameter beats the end of a pattern, which beats a wildcard.
 * For two patterns that both match some path, the first differing position decides.
 */
export function comparePatterns(a: CompiledPattern, b: CompiledPattern): number {
  const n = Math.max(a.rank.length, b.rank.length);
  for (let i = 0; i < n; i++) {
    const d = (b.rank[i] ?? 0) - (a.rank[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Same shape: equal segment kinds and equal literals (parameter names do not matter). */
export function samePatternShape(a: CompiledPattern, b: CompiledPattern): boolean {
  if (a.segments.length !== b.segments.length) return false;
  return a.segments.every((s, i) => {
    const o = b.segments[i]!;
    return s.kind === o.kind && (s.kind !== 'literal' || (o.kind === 'literal' && s.value === o.value));
  });
}
