import type { FieldProblem } from '@warmhouse/shared';

/** The parts of an ajv error we read (openapi-backend's validation result). */
export interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown> | unknown[];
}

const PARTS: Record<string, FieldProblem['in']> = {
  requestBody: 'body',
  query: 'query',
  path: 'path',
  headers: 'header',
  header: 'header',
};

/** `readings`, `3`, `measuredAt` → `readings[3].measuredAt` (JSON-pointer escapes undone). */
export function fieldPath(segments: readonly string[]): string {
  let out = '';
  for (const raw of segments) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(seg)) out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

function describe(e: AjvError, params: Record<string, unknown>): { message: string; extra?: string } {
  if (e.keyword === 'required' && typeof params.missingProperty === 'string') {
    return { message: 'is required', extra: params.missingProperty };
  }
  if (e.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    return { message: 'is not a known property', extra: params.additionalProperty };
  }
  if (e.keyword === 'enum' && Array.isArray(params.allowedValues)) {
    return { message: `must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}` };
  }
  return { message: e.message ?? 'is invalid' };
}

/** One ajv error as a field problem. */
function problemOf(e: AjvError, bodyOnly: boolean): FieldProblem {
  if (e.keyword === 'parse') return { in: 'body', field: '', message: `not valid JSON: ${e.message ?? ''}` };
  const segments = e.instancePath.split('/').slice(1);
  const part = bodyOnly ? 'requestBody' : (segments.shift() ?? '');
  const params = Array.isArray(e.params) ? {} : e.params;
  const { message, extra } = describe(e, params);
  if (part === '' && extra !== undefined) {
    // a whole part is missing: `requestBody`, or every query parameter
    if (extra === 'requestBody') return { in: 'body', field: '', message: 'a JSON body is required' };
    return { in: PARTS[extra] ?? 'body', field: '', message };
  }
  if (extra !== undefined) segments.push(extra);
  return { in: PARTS[part] ?? 'body', field: fieldPath(segments), message };
}

/**
 * openapi-backend's ajv errors as field problems, without repeats: `/requestBody/settings/targetTemperature` →
 * body, `settings.targetTemperature`; `/query/limit` → query, `limit`. Instance paths start with the part
 * (`requestBody`, `query`, `path`, `headers`), or are relative to the body when `bodyOnly`.
 */
export function fieldProblems(
  errors: readonly AjvError[],
  { bodyOnly = false }: { bodyOnly?: boolean } = {},
): FieldProblem[] {
  const seen = new Set<string>();
  const problems: FieldProblem[] = [];
  for (const e of errors) {
    const problem = problemOf(e, bodyOnly);
    const key = `${problem.in}|${problem.field}|${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
  }
  return problems;
}
