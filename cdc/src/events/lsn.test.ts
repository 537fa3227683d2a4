import { formatLsn, parseLsn } from './lsn';

describe('LSN text form', () => {
  it.each([
    ['0/0', 0n],
    ['0/16E9C58', 24026200n],
    ['16/B374D848', 0x16b374d848n],
    ['FFFFFFFF/FFFFFFFF', 0xffffffffffffffffn],
  ])('%s <-> %s', (text, value) => {
    expect(parseLsn(text)).toBe(value);
    expect(formatLsn(value)).toBe(text);
  });

  it.each(['', '16', '16/', 'G/1', '123456789/0'])('rejects %j', (text) => {
    expect(() => parseLsn(text)).toThrow(RangeError);
  });

  it('refuses to format values outside 64 bits', () => {
    expect(() => formatLsn(-1n)).toThrow(RangeError);
    expect(() => formatLsn(1n << 64n)).toThrow(RangeError);
  });
});
