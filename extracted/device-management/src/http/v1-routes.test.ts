import { decodeCursor, encodeCursor } from './device-json';

describe('page cursors', () => {
  it('round-trip and reject anything else', () => {
    expect(decodeCursor(encodeCursor('12345'))).toBe('12345');
    expect(decodeCursor('bm90LWEtbnVtYmVy')).toBeUndefined();
  });
});
