import { parseJsonLossless } from './lossless-json';

describe('parseJsonLossless', () => {
  it.each([
    ['{"a":1,"b":[true,false,null],"c":"x"}'],
    ['[1.5, -0, 2e3, -12.25e-2]'],
    ['"esc\\"aped \\u00e9 \\n"'],
    ['{"n":1234567890123456, "s":"12345678901234567890"}'],
    ['{"__proto__": {"polluted": true}}'],
  ])('agrees with JSON.parse where no precision is at stake: %s', (text) => {
    expect(parseJsonLossless(text)).toEqual(JSON.parse(text));
  });

  it('keeps integers beyond 2^53 exact as bigint, wherever they are', () => {
    const text = '{"lsn": 9223372036854775807, "neg": -9007199254740993, "list": [18446744073709551615], "ok": 42}';
    expect(parseJsonLossless(text)).toEqual({
      lsn: 9223372036854775807n,
      neg: -9007199254740993n,
      list: [18446744073709551615n],
      ok: 42,
    });
  });

  it('leaves non-integer numbers as numbers even on the exact path', () => {
    expect(parseJsonLossless('{"big": 9007199254740993, "f": 1.25, "e": 1e21}')).toEqual({
      big: 9007199254740993n,
      f: 1.25,
      e: 1e21,
    });
  });

  it('does not pollute prototypes on the exact path', () => {
    const parsed = parseJsonLossless('{"__proto__": {"x": 1}, "n": 9007199254740993}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.keys(parsed)).toEqual(['__proto__', 'n']);
  });

  it.each([
    ['{"n": 9007199254740993,}'],
    ['{"n": 9007199254740993} x'],
    ['{"n": 09007199254740993}'],
    ['{"n": 9007199254740993, "s": "unterminated}'],
    ['{n: 9007199254740993}'],
    ['[9007199254740993, tru]'],
  ])('rejects invalid JSON on the exact path: %s', (text) => {
    expect(() => parseJsonLossless(text)).toThrow(SyntaxError);
  });
});
