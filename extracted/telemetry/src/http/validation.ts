import { ValidationContext, type OpenAPIBackend } from 'openapi-backend';
import { fieldProblems, type AjvError } from '@warmhouse/service-kit';
import type { FieldProblem } from '../errors';

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
    return fieldProblems((validate.errors ?? []) as AjvError[], { bodyOnly: true });
  };
}
