/**
 * Reading a JSON body's raw number lexemes. `JSON.parse` turns `20.0` and `20` into the same value, but the
 * monolith's clients see bytes: a byte-compatible implementation must write numbers exactly as Jackson does.
 */

/** Java's `Double.toString` output: `20.0`, `-5.0`, `22.25`, `1.0E7`, `1.0E-4` (never `20`, `1e7` or `1.0E+7`). */
export const JAVA_DOUBLE_LEXEME = /^-?(?:\d+\.\d+|\d\.\d+E-?\d+)$/;

/** Java's `Long.toString` output: no fraction, no exponent, no leading zeros. */
export const JAVA_LONG_LEXEME = /^-?(?:0|[1-9]\d*)$/;

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// JSON strings may not contain raw control characters (RFC 8259 §7)
// eslint-disable-next-line no-control-regex
const STRING = /"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/y;

const pointerToken = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Parses `text` as strict JSON (RFC 8259) and returns the raw lexeme of every number, keyed by its JSON pointer
 * (`''` for a bare number, `/targetTemperature` for a property). Throws a SyntaxError naming the offset.
 */
export function numberLexemes(text: string): Map<string, string> {
  const lexemes = new Map<string, string>();
  let at = 0;

  const fail = (what: string): never => {
    throw new SyntaxError(`invalid JSON: ${what} at offset ${at} in ${JSON.stringify(text.slice(0, 200))}`);
  };
  const skipWhitespace = () => {
    while (at < text.length && ' \t\n\r'.includes(text.charAt(at))) at += 1;
  };
  const match = (pattern: RegExp): string | undefined => {
    pattern.lastIndex = at;
    const found = pattern.exec(text);
    if (!found) return undefined;
    at = pattern.lastIndex;
    return found[0];
  };
  const literal = (word: string): boolean => {
    if (!text.startsWith(word, at)) return false;
    at += word.length;
    return true;
  };
  const string = (): string => {
    const raw = match(STRING);
    return raw === undefined ? fail('expected a string') : (JSON.parse(raw) as string);
  };
  /** Steps over an opening bracket; true, past `close`, when the object or array is empty. */
  const opensEmpty = (close: string): boolean => {
    at += 1;
    skipWhitespace();
    if (text.charAt(at) !== close) return false;
    at += 1;
    return true;
  };
  /** After a member: true past a comma (another member follows), false past `close`. */
  const nextMember = (close: string): boolean => {
    skipWhitespace();
    const c = text.charAt(at);
    if (c !== ',' && c !== close) fail(`expected "," or "${close}"`);
    at += 1;
    return c === ',';
  };

  const value = (pointer: string): void => {
    skipWhitespace();
    const c = text.charAt(at);
    if (c === '{') {
      if (opensEmpty('}')) return;
      for (;;) {
        skipWhitespace();
        const key = string();
        skipWhitespace();
        if (text.charAt(at) !== ':') fail('expected ":"');
        at += 1;
        value(`${pointer}/${pointerToken(key)}`);
        if (!nextMember('}')) return;
      }
    }
    if (c === '[') {
      if (opensEmpty(']')) return;
      for (let index = 0; ; index += 1) {
        value(`${pointer}/${index}`);
        if (!nextMember(']')) return;
      }
    }
    if (c === '"') {
      string();
      return;
    }
    if (literal('true') || literal('false') || literal('null')) return;
    const number = match(NUMBER);
    if (number === undefined) fail('expected a value');
    else lexemes.set(pointer, number);
  };

  value('');
  skipWhitespace();
  if (at !== text.length) fail('unexpected trailing characters');
  return lexemes;
}
