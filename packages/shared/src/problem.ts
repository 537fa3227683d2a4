import { CodedError } from './errors';

/** Media type of RFC 9457 problem details. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * What a package says about one of its error codes: the HTTP status, whether a retry can help, and the problem
 * title (the code itself when a package's errors never reach an HTTP answer).
 */
export interface ErrorCatalogEntry {
  status: number;
  retriable: boolean;
  title?: string;
}

/** One failing field of a request: where it is and what is wrong with it. */
export interface FieldProblem {
  in: 'path' | 'query' | 'header' | 'body';
  /** path inside that part, e.g. `settings.targetTemperature` or `readings[3].measuredAt`; `''` for the whole body */
  field: string;
  message: string;
}

/** RFC 9457 problem details, with our error code and the failing fields. */
export interface Problem<Code extends string = string> {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: Code;
  instance?: string;
  requestId?: string;
  errors?: FieldProblem[];
}

/** What a problem may carry besides its code's members: the standard extras and extension members (`route`, …). */
export interface ProblemExtras {
  /** the status when it is not the code's own: an answer relaying another service's status */
  status?: number;
  instance?: string;
  requestId?: string;
  errors?: FieldProblem[];
  /** extension members, written at the top level; undefined ones are left out, the standard members always win */
  extensions?: Record<string, unknown>;
}

/** The URI of a code's problem type (`urn:warmhouse:problem:<code in kebab case>`; docs/errors.md has its anchor). */
export function problemType(code: string): string {
  return `urn:warmhouse:problem:${problemAnchor(code)}`;
}

/** The anchor of a code in docs/errors.md: the code in kebab case (`PROXY_ERR_INTERNAL` → `proxy-err-internal`). */
export function problemAnchor(code: string): string {
  return code.toLowerCase().replace(/_/g, '-');
}

/** The part of an HTTP response (node's `ServerResponse`, hence express's `Response` too) a problem is written to. */
export interface ProblemResponse {
  writeHead(status: number, headers: Record<string, string | string[]> | string[]): unknown;
  end(body: string): unknown;
}

/**
 * Error helpers bound to one package's catalog of codes (`DEVICE_ERR_…`, `TELEMETRY_ERR_…`, `CDC_ERR_…`,
 * `MESSAGE_ERR_…`): coded errors that carry the status and retriability, and the problem body answered for them.
 * The one way errors are made in this repository (the proxy's `ProxyError` adds the forwarding stage on top).
 */
export function errorCatalog<Catalog extends Record<string, ErrorCatalogEntry>>(catalog: Catalog) {
  type Code = keyof Catalog & string;
  return {
    /** A coded error with the catalog's status and retriability; `fields` travel to the problem body. */
    error(
      code: Code,
      detail: string,
      options: { cause?: unknown; fields?: FieldProblem[]; details?: Record<string, unknown> } = {},
    ): CodedError {
      const { status, retriable } = catalog[code]!;
      const details = options.fields ? { ...options.details, fields: options.fields } : options.details;
      return new CodedError(code, detail, { status, retriable, cause: options.cause, details });
    },
    /** True when `err` carries exactly `code`. */
    has(err: unknown, code: Code): err is CodedError & { code: Code } {
      return (err as { code?: unknown } | null)?.code === code;
    },
    /** True when `err` carries one of the catalog's codes. */
    is(err: unknown): err is CodedError & { code: Code } {
      const code = (err as { code?: unknown } | null)?.code;
      return typeof code === 'string' && Object.prototype.hasOwnProperty.call(catalog, code);
    },
    /** The problem body of a code (see {@link problemOf}). */
    problem(code: Code, detail: string, extra: ProblemExtras = {}): Problem<Code> {
      return problemOf(code, catalog[code]!, detail, extra);
    },
  };
}

/**
 * The problem body of `code` as `entry` describes it: `type` is {@link problemType}, `title` the entry's title (else
 * the code); empty extras are left out and extension members come after the standard ones, which they cannot replace.
 */
export function problemOf<Code extends string>(
  code: Code,
  entry: ErrorCatalogEntry,
  detail: string,
  extra: ProblemExtras = {},
): Problem<Code> {
  const problem: Problem<Code> = {
    type: problemType(code),
    title: entry.title ?? code,
    status: extra.status ?? entry.status,
    detail,
    code,
    ...(extra.instance ? { instance: extra.instance } : {}),
    ...(extra.requestId ? { requestId: extra.requestId } : {}),
    ...(extra.errors && extra.errors.length > 0 ? { errors: extra.errors } : {}),
  };
  for (const [name, value] of Object.entries(extra.extensions ?? {})) {
    if (value !== undefined && !(name in problem)) (problem as unknown as Record<string, unknown>)[name] = value;
  }
  return problem;
}

/** The headers of a problem answer: its media type and length, then `headers` (node's flat `[name, value, …]`). */
export function problemHeaders(body: string, headers: readonly string[] = []): string[] {
  return ['content-type', PROBLEM_CONTENT_TYPE, 'content-length', String(Buffer.byteLength(body)), ...headers];
}

/**
 * Writes a problem with its status, `application/problem+json` and `headers` (flat `[name, value, …]`), to an express
 * or a node:http response; headers set on the response before stay.
 */
export function sendProblem(
  res: ProblemResponse,
  problem: Problem,
  options: { headers?: readonly string[] } = {},
): void {
  const body = JSON.stringify(problem);
  res.writeHead(problem.status, problemHeaders(body, options.headers));
  res.end(body);
}

/** The field problems a coded validation error carries. */
export function fieldsOf(err: CodedError): FieldProblem[] {
  return (err.options.details?.fields as FieldProblem[] | undefined) ?? [];
}

/**
 * One readable sentence out of the field problems, at most `max` of them:
 * `readings[3].measuredAt (body): is in the future; and 2 more`.
 */
export function describeFields(errors: readonly FieldProblem[], max = 5): string {
  const shown = errors.slice(0, max).map((e) => `${e.field || e.in} (${e.in}): ${e.message}`);
  return shown.join('; ') + (errors.length > max ? `; and ${errors.length - max} more` : '');
}
