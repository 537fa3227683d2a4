import { ValidationContext, type OpenAPIBackend } from 'openapi-backend';
import type { FieldProblem } from '../errors';

/** The parts of an ajv error we read (openapi-backend's validation result). */
export interface AjvError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

const PARTS: Record<string, FieldProblem['in']> = {
  requestBody: 'body',
  query: 'query',
  path: 'path',
  headers: 'header',
  header: 'header',
};

/** `readings`, `3`, `measuredAt` → `readings[3].measuredAt` */
export function fieldPath(segments: readonly string[]): string {
  let out = '';
  for (const raw of segments) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(seg)) out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

/**
 * openapi-backend's ajv errors as field problems, for parameters (`/query/limit`, `/path/deviceId`…) and for
 * bodies without `oneOf`. Instance paths start with the part (`requestBody`, `query`, `path`, `headers`), or are
 * relative to the body when `bodyOnly`.
 */
export function fieldProblems(errors: readonly AjvError[], bodyOnly = false): FieldProblem[] {
  const seen = new Set<string>();
  const problems: FieldProblem[] = [];
  for (const e of errors) {
    const segments = e.instancePath.split('/').slice(1);
    const first = bodyOnly ? 'requestBody' : (segments.shift() ?? '');
    const part = PARTS[first] ?? 'body';
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required' && typeof e.params.missingProperty === 'string') {
      segments.push(e.params.missingProperty);
      message = 'is required';
    } else if (e.keyword === 'additionalProperties' && typeof e.params.additionalProperty === 'string') {
      segments.push(e.params.additionalProperty);
      message = 'is not a known property';
    } else if (e.keyword === 'enum' && Array.isArray(e.params.allowedValues)) {
      message = `must be one of ${e.params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    const problem = { in: part, field: fieldPath(segments), message };
    const key = `${problem.in}|${problem.field}|${problem.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      problems.push(problem);
    }
  }
  return problems;
}

/**
 * Field problems of an ingest body. The document's body is `oneOf` a batch or a single reading, and ajv reports
 * both branches (and, as both share the Reading schema object, under one schema path), so the body is checked
 * again against the one branch it aims at: a batch if it has `readings`, else a single reading.
 */
export function ingestBodyProblems(api: OpenAPIBackend): (body: unknown) => FieldProblem[] {
  const schemas = api.definition.components?.schemas ?? {};
  const compile = (name: string) =>
    api.validator.getAjv(ValidationContext.RequestBody).compile(schemas[name] as object);
  let batch: ReturnType<typeof compile> | undefined;
  let single: ReturnType<typeof compile> | undefined;
  return (body) => {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return [{ in: 'body', field: '', message: 'must be a reading object or {"readings": [...]}' }];
    }
    const validate = 'readings' in body ? (batch ??= compile('ReadingBatch')) : (single ??= compile('Reading'));
    validate(body);
    return fieldProblems((validate.errors ?? []) as AjvError[], true);
  };
}
