import { JAVA_DOUBLE_LEXEME, JAVA_LONG_LEXEME, numberLexemes } from './raw-json';

describe('numberLexemes', () => {
  it.each([
    [
      '{"id":1,"targetTemperature":20.0,"currentTemperature":0.0,"on":false}',
      { '/id': '1', '/targetTemperature': '20.0', '/currentTemperature': '0.0' },
    ],
    ['21.5', { '': '21.5' }],
    [' \n-5.0E-4 ', { '': '-5.0E-4' }],
    ['{"a":[1,{"b":2.50}],"c":"3.0","d":null,"e":true}', { '/a/0': '1', '/a/1/b': '2.50' }],
    ['{"x/y":1,"m~n":2}', { '/x~1y': '1', '/m~0n': '2' }],
    ['{"s":"\\"20\\" \\u0041","n":20}', { '/n': '20' }],
    ['{}', {}],
    ['[]', {}],
  ])('%s', (text, expected) => {
    expect(Object.fromEntries(numberLexemes(text))).toEqual(expected);
  });

  it.each([
    ['{"a":1,}'],
    ['{"a":01}'],
    ['{"a":NaN}'],
    ['{"a":1} x'],
    ["{'a':1}"],
    ['{"a":"line\nbreak"}'],
    ['"unterminated'],
    [''],
    ['{"a" 1}'],
    ['[1 2]'],
  ])('rejects %j like JSON.parse does', (text) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(() => numberLexemes(text)).toThrow(SyntaxError);
  });
});

describe('Java lexemes', () => {
  it.each(['20.0', '0.0', '-5.0', '22.25', '1.0E7', '1.0E-4', '-1.23456789E7', '9999999.0'])(
    '%s is a Java double',
    (lexeme) => expect(JAVA_DOUBLE_LEXEME.test(lexeme)).toBe(true),
  );
  it.each(['20', '0', '1e7', '1.0e7', '1.0E+7', '10000000', '.5', '5.'])(
    '%s is not how Java writes a double',
    (lexeme) => expect(JAVA_DOUBLE_LEXEME.test(lexeme)).toBe(false),
  );
  it.each([
    ['1', true],
    ['-42', true],
    ['0', true],
    ['1.0', false],
    ['01', false],
    ['1E3', false],
  ])('%s as a Java long: %s', (lexeme, expected) => expect(JAVA_LONG_LEXEME.test(lexeme)).toBe(expected));
});
