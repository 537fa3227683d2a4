const PROGRAMMER_ERRORS = new Set(['TypeError', 'ReferenceError', 'SyntaxError', 'RangeError']);

/**
 * Default classification of a handler failure. An explicit `retriable` flag wins (CodedError, kafkajs errors);
 * programmer errors are never retried; anything else (a dropped database connection, a deadlock) is retried,
 * because dead-lettering a valid change during an outage would silently lose it.
 */
export function isRetriableError(err: unknown): boolean {
  const flag = (err as { retriable?: unknown } | null)?.retriable;
  if (typeof flag === 'boolean') return flag;
  const name = (err as { name?: unknown } | null)?.name;
  return !(typeof name === 'string' && PROGRAMMER_ERRORS.has(name));
}
