import { readFileSync } from 'node:fs';
import path from 'node:path';
import { OpenAPIBackend, type Document } from 'openapi-backend';
import { parse } from 'yaml';

/** The new API's OpenAPI document (served at /api/v1/openapi.json and by Swagger UI at /docs). */
export const OPENAPI_PATH = path.resolve(__dirname, '..', '..', 'openapi.yaml');

export function loadOpenApiDocument(): Document {
  return parse(readFileSync(OPENAPI_PATH, 'utf8')) as Document;
}

/** An initialised openapi-backend over the document (it resolves the `$ref`s itself); strict, so a broken document fails start-up. */
export async function createOpenApiBackend(document: Document): Promise<OpenAPIBackend> {
  const api = new OpenAPIBackend({
    definition: document,
    strict: true,
    validate: true,
    coerceTypes: true,
    // formats only appear in responses, which are not validated at run time
    ajvOpts: { allErrors: true, strict: false, formats: { 'date-time': true } },
    ignoreTrailingSlashes: false,
  });
  await api.init();
  return api;
}
