import { readFileSync } from 'node:fs';
import path from 'node:path';
import { OpenAPIBackend, type Document } from 'openapi-backend';
import { parse } from 'yaml';

/** The service's OpenAPI document (the source of truth for request validation and the Swagger UI). */
export const OPENAPI_PATH = path.resolve(__dirname, '..', '..', 'openapi.yaml');

export function loadDocument(): Document {
  return parse(readFileSync(OPENAPI_PATH, 'utf8')) as Document;
}

/** An initialised openapi-backend; strict, so a broken document fails start-up. */
export async function createOpenApi(document: Document = loadDocument()): Promise<OpenAPIBackend> {
  const api = new OpenAPIBackend({
    definition: document,
    strict: true,
    validate: true,
    coerceTypes: true, // path and query parameters only; bodies are never coerced ("21.5" is not a number)
    // date-time values are checked by our own RFC 3339 parser, which names the field and the window
    ajvOpts: { allErrors: true, strict: false, formats: { 'date-time': true } },
    ignoreTrailingSlashes: false,
  });
  await api.init();
  return api;
}
