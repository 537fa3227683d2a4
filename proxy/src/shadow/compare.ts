/** Noise rules of a shadowed route, checked when the table loads. */
export interface NoiseRules {
  /** Paths whose values are not compared: `$.timestamp`, `$.items[*].updatedAt`, `$.meta.*`. */
  readonly ignore: readonly string[];
  /** Numbers within this absolute difference are equal (`20.0` and `20` are always equal: JSON numbers). */
  readonly tolerance: number;
  /** Compare arrays as multisets (order ignored). */
  readonly unorderedArrays: boolean;
}

/** One difference between the primary's and the shadow's answer. */
export interface Difference {
  /** `$.a.b[2]`, or `status`, `header:content-type`, `body`. */
  readonly path: string;
  readonly primary: unknown;
  readonly shadow: unknown;
}

/** Compiles `$.a[*].b`-style paths to matchers over path segments (`*` matches any key or index). */
export function compileIgnore(paths: readonly string[]): (path: readonly string[]) => boolean {
  const patterns = paths.map(splitPath);
  return (path) => patterns.some((p) => p.length === path.length && p.every((s, i) => s === '*' || s === path[i]));
}

/** `$.a.b[0][*]` → `['a', 'b', '0', '*']`; throws on a path not starting with `$`. */
export function splitPath(path: string): string[] {
  if (!path.startsWith('$')) throw new Error(`must start with "$" (got ${JSON.stringify(path)})`);
  const out: string[] = [];
  const re = /\.([^.[\]]+)|\[(\*|\d+)\]/g;
  let at = 1;
  for (let m = re.exec(path); m !== null; m = re.exec(path)) {
    if (m.index !== at) throw new Error(`cannot read ${JSON.stringify(path)} at ${at}`);
    out.push(m[1] ?? m[2]!);
    at = re.lastIndex;
  }
  if (at !== path.length) throw new Error(`cannot read ${JSON.stringify(path)} at ${at}`);
  return out;
}

function show(path: readonly string[]): string {
  return '$' + path.map((s) => (/^(\d+|\*)$/.test(s) ? `[${s}]` : `.${s}`)).join('');
}

/**
 * Structural comparison of two JSON values under noise rules; returns every difference (at most `limit`).
 * Objects compare key by key, arrays element by element (or as multisets with `unorderedArrays`), numbers
 * within `tolerance`, everything else strictly.
 */
export function compareJson(
  primary: unknown,
  shadow: unknown,
  rules: NoiseRules,
  ignored: (path: readonly string[]) => boolean = compileIgnore(rules.ignore),
  limit = 50,
): Difference[] {
  const diffs: Difference[] = [];
  const walk = (a: unknown, b: unknown, path: string[]): void => {
    if (diffs.length >= limit || ignored(path)) return;
    if (typeof a === 'number' && typeof b === 'number') {
      if (Math.abs(a - b) > rules.tolerance) diffs.push({ path: show(path), primary: a, shadow: b });
      return;
    }
    if (Array.isArray(a) && Array.isArray(b)) {
      if (rules.unorderedArrays) {
        const rest = [...b];
        for (const [i, x] of a.entries()) {
          const j = rest.findIndex(
            (y) => compareJson(x, y, rules, (p) => ignored([...path, String(i), ...p]), 1).length === 0,
          );
          if (j === -1) diffs.push({ path: show([...path, String(i)]), primary: x, shadow: undefined });
          else rest.splice(j, 1);
        }
        for (const y of rest) diffs.push({ path: show([...path, '*']), primary: undefined, shadow: y });
        return;
      }
      for (let i = 0; i < Math.max(a.length, b.length); i++) walk(a[i], b[i], [...path, String(i)]);
      return;
    }
    if (isObject(a) && isObject(b)) {
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[k], b[k], [...path, k]);
      return;
    }
    if (a !== b) diffs.push({ path: show(path), primary: a, shadow: b });
  };
  walk(primary, shadow, []);
  return diffs.slice(0, limit);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An answer as the shadow comparison sees it. */
export interface Answer {
  readonly status: number;
  /** Lowercased names of the compared headers → value (absent: undefined). */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer;
}

/**
 * Compares two answers: status, the selected headers, then the bodies — as JSON under the noise rules when
 * both parse, byte for byte otherwise.
 */
export function compareAnswers(
  primary: Answer,
  shadow: Answer,
  rules: NoiseRules,
  ignored: (path: readonly string[]) => boolean,
): Difference[] {
  const diffs: Difference[] = [];
  if (primary.status !== shadow.status) diffs.push({ path: 'status', primary: primary.status, shadow: shadow.status });
  for (const name of new Set([...Object.keys(primary.headers), ...Object.keys(shadow.headers)])) {
    const a = primary.headers[name]?.split(';')[0]?.trim().toLowerCase();
    const b = shadow.headers[name]?.split(';')[0]?.trim().toLowerCase();
    if (a !== b) diffs.push({ path: `header:${name}`, primary: primary.headers[name], shadow: shadow.headers[name] });
  }
  const a = parseJson(primary.body);
  const b = parseJson(shadow.body);
  if (a.ok && b.ok) diffs.push(...compareJson(a.value, b.value, rules, ignored));
  else if (!primary.body.equals(shadow.body))
    diffs.push({ path: 'body', primary: primary.body.toString('utf8'), shadow: shadow.body.toString('utf8') });
  return diffs;
}

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false } {
  if (body.length === 0) return { ok: false };
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) as unknown };
  } catch {
    return { ok: false };
  }
}
