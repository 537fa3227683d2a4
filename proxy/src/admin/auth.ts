import { createHash, timingSafeEqual } from 'node:crypto';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Checks an `Authorization: Bearer <token>` header against the expected token in constant time
 * (both sides hashed first, so neither the length nor a prefix leaks through timing).
 */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  const given = match?.[1] ?? '';
  const ok = timingSafeEqual(digest(given), digest(expected));
  return ok && match !== null;
}
