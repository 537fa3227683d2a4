import type { ContractDocument, UnattachedResponse } from './document';
import { ContractError } from './errors';
import { describeExchange, pathOf, type Exchange } from './http';
import { numberLexemes } from './raw-json';

/** Throws the contract's assertion error; the exchange, when given, is quoted in full. */
export function fail(message: string, exchange?: Exchange): never {
  throw new ContractError(
    'CONTRACT_ERR_ASSERTION',
    exchange ? `${message}\n    exchange: ${describeExchange(exchange)}` : message,
  );
}

export function expectThat(condition: boolean, message: string, exchange?: Exchange): asserts condition {
  if (!condition) fail(message, exchange);
}

/** `application/json` from `application/json; charset=utf-8`; undefined without a Content-Type. */
export const mediaTypeOf = (exchange: Exchange): string | undefined =>
  exchange.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();

/** A JSON body parsed twice: as values, and as the raw number lexemes the bytes contain. */
export interface JsonBody<T = unknown> {
  readonly value: T;
  readonly lexemes: Map<string, string>;
}

function parseJson<T>(exchange: Exchange): JsonBody<T> {
  try {
    const lexemes = numberLexemes(exchange.text);
    return { value: JSON.parse(exchange.text) as T, lexemes };
  } catch (err) {
    return fail(`the body is not valid JSON: ${(err as Error).message}`, exchange);
  }
}

function expectJsonMediaType(exchange: Exchange, documented: string[]): void {
  const type = mediaTypeOf(exchange);
  expectThat(
    type !== undefined && documented.includes(type),
    `expected Content-Type ${documented.join(' or ')}, got ${exchange.headers.get('content-type') ?? 'none'}`,
    exchange,
  );
}

/** An error body must describe the response it came in: same status, the request's path. */
function expectSpringErrorMatches(exchange: Exchange, body: unknown): void {
  const error = body as { status?: unknown; path?: unknown };
  expectThat(
    error.status === exchange.status,
    `the error body's status ${String(error.status)} differs from the HTTP status ${exchange.status}`,
    exchange,
  );
  expectThat(
    error.path === pathOf(exchange),
    `the error body's path should be the request path ${JSON.stringify(pathOf(exchange))}, got ${JSON.stringify(error.path)}`,
    exchange,
  );
}

/**
 * The response of a documented operation: the expected status, a status the document lists for the operation,
 * a documented media type, a body valid against the document's schema (openapi-backend), or an empty body where
 * the document has none. Error bodies must carry the HTTP status and the request path.
 */
export function expectOperationResponse<T = unknown>(
  doc: ContractDocument,
  exchange: Exchange,
  operationId: string,
  expectedStatus: number,
): JsonBody<T> | undefined {
  expectThat(
    exchange.status === expectedStatus,
    `expected HTTP ${expectedStatus} (${operationId}), got ${exchange.status}`,
    exchange,
  );
  const documented = doc.mediaTypes(operationId, exchange.status);
  expectThat(
    documented !== undefined,
    `HTTP ${exchange.status} is not a documented response of ${operationId} (documented: ${doc.documentedStatuses(operationId).join(', ')})`,
    exchange,
  );
  if (documented.length === 0) {
    expectThat(exchange.bytes.length === 0, `expected an empty body, got ${exchange.bytes.length} bytes`, exchange);
    const errors = doc.validateOperationResponse(operationId, exchange.status, null);
    expectThat(errors.length === 0, `response does not match the document: ${errors.join('; ')}`, exchange);
    return undefined;
  }
  expectJsonMediaType(exchange, documented);
  const body = parseJson<T>(exchange);
  const errors = doc.validateOperationResponse(operationId, exchange.status, body.value);
  expectThat(
    errors.length === 0,
    `the body does not match the document (${operationId}, ${exchange.status}): ${errors.join('; ')}`,
    exchange,
  );
  if (exchange.status >= 400) expectSpringErrorMatches(exchange, body.value);
  return body;
}

/** A 404 or 405: no operation owns it, so it is checked against `components.responses`. */
export function expectUnattachedError(
  doc: ContractDocument,
  exchange: Exchange,
  name: UnattachedResponse,
  expectedStatus: number,
): void {
  expectThat(exchange.status === expectedStatus, `expected HTTP ${expectedStatus}, got ${exchange.status}`, exchange);
  expectJsonMediaType(exchange, ['application/json']);
  const body = parseJson(exchange);
  const errors = doc.validateUnattachedResponse(name, body.value);
  expectThat(
    errors.length === 0,
    `the body does not match components.responses.${name}: ${errors.join('; ')}`,
    exchange,
  );
  expectSpringErrorMatches(exchange, body.value);
}

/**
 * Runs every case of a check and reports all failing cases at once, so one run shows the whole picture
 * (e.g. which of the six endpoints answer a missing id wrongly).
 */
export async function allCases(cases: Array<{ name: string; run: () => Promise<void> }>): Promise<void> {
  const failures: string[] = [];
  for (const c of cases) {
    try {
      await c.run();
    } catch (err) {
      if (err instanceof ContractError && err.code === 'CONTRACT_ERR_UNREACHABLE') throw err;
      failures.push(`- ${c.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (failures.length > 0) {
    fail(`${failures.length} of ${cases.length} cases differ from the monolith:\n${failures.join('\n')}`);
  }
}
