/**
 * JSON parsing that never loses integer precision. Debezium writes int64 columns and LSNs as JSON numbers;
 * `JSON.parse` silently rounds integers beyond 2^53. Integers that `JSON.parse` would round come back as
 * `bigint`; every other value is exactly what `JSON.parse` gives.
 *
 * Plain `JSON.parse` when the text has no run of 16 or more digits (2^53 has 16), the small exact parser below
 * otherwise. Debezium 3 events always take the exact path: `ts_ns` (ns since epoch) has 19 digits.
 */
export function parseJsonLossless(text: string): unknown {
  return LONG_DIGIT_RUN.test(text) ? new ExactParser(text).parseDocument() : JSON.parse(text);
}

const LONG_DIGIT_RUN = /\d{16}/;
// JSON forbids unescaped control characters inside strings; matching them is the point here.
// eslint-disable-next-line no-control-regex
const CONTROL_CHAR = /[\u0000-\u001f]/;
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const QUOTE = 34;
const BACKSLASH = 92;

class ExactParser {
  private pos = 0;
  constructor(private readonly text: string) {}

  parseDocument(): unknown {
    const value = this.value();
    this.skipWhitespace();
    if (this.pos !== this.text.length) this.fail('unexpected trailing characters');
    return value;
  }

  private value(): unknown {
    this.skipWhitespace();
    const c = this.text.charCodeAt(this.pos);
    if (c === 123) return this.object();
    if (c === 91) return this.array();
    if (c === QUOTE) return this.string();
    if (c === 45 || (c >= 48 && c <= 57)) return this.number();
    for (const [word, literal] of LITERALS) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return literal;
      }
    }
    return this.fail('unexpected character');
  }

  private object(): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    if (this.opensEmpty(125)) return result;
    for (;;) {
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== QUOTE) this.fail('expected a property name');
      const key = this.string();
      this.expect(58);
      const value = this.value();
      if (key === '__proto__') {
        Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
      } else {
        result[key] = value;
      }
      if (!this.nextMember(125)) return result;
    }
  }

  private array(): unknown[] {
    const result: unknown[] = [];
    if (this.opensEmpty(93)) return result;
    for (;;) {
      result.push(this.value());
      if (!this.nextMember(93)) return result;
    }
  }

  /** Steps over an opening bracket; true, past the closing one `close`, when the object or array is empty. */
  private opensEmpty(close: number): boolean {
    this.pos++;
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) !== close) return false;
    this.pos++;
    return true;
  }

  /** After a member: true past a comma (another member follows), false past the closing bracket `close`. */
  private nextMember(close: number): boolean {
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 44) {
      this.pos++;
      return true;
    }
    this.expect(close);
    return false;
  }

  /** Finds the closing quote (skipping escaped characters); escapes are decoded by `JSON.parse` of the token. */
  private string(): string {
    const start = this.pos;
    let i = start + 1;
    let escaped = false;
    for (;;) {
      const c = this.text.charCodeAt(i);
      if (Number.isNaN(c)) this.fail('unterminated string');
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        escaped = true;
        i++;
      }
      i++;
    }
    this.pos = i + 1;
    if (escaped) {
      try {
        return JSON.parse(this.text.slice(start, i + 1)) as string;
      } catch {
        return this.fail('invalid string escape');
      }
    }
    const body = this.text.slice(start + 1, i);
    if (CONTROL_CHAR.test(body)) this.fail('control character in string');
    return body;
  }

  private number(): number | bigint {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (!m) return this.fail('invalid number');
    this.pos = NUMBER.lastIndex;
    const token = m[0];
    const isInteger = m[1] === undefined && m[2] === undefined;
    const n = Number(token);
    return isInteger && !Number.isSafeInteger(n) ? BigInt(token) : n;
  }

  private expect(charCode: number): void {
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) !== charCode) this.fail(`expected '${String.fromCharCode(charCode)}'`);
    this.pos++;
  }

  private skipWhitespace(): void {
    let c = this.text.charCodeAt(this.pos);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = this.text.charCodeAt(++this.pos);
  }

  private fail(problem: string): never {
    throw new SyntaxError(`${problem} in JSON at position ${this.pos}`);
  }
}

const LITERALS: ReadonlyArray<readonly [string, unknown]> = [
  ['true', true],
  ['false', false],
  ['null', null],
];
