import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  OpenAPIBackend,
  ValidationContext,
  type Document,
  type OpenAPIValidator,
  type ValidationResult,
} from 'openapi-backend';
import { parse } from 'yaml';

type ErrorObject = NonNullable<ValidationResult['errors']>[number];
type ValidateFunction = ReturnType<ReturnType<OpenAPIValidator['getAjv']>['compile']>;

/** The parts of an OpenAPI response object the checks read (after `$ref` resolution). */
interface ResponseObject {
  content?: Record<string, { schema?: object }>;
}

/** The monolith's OpenAPI document, the schema half of the contract. */
export const OPENAPI_DOCUMENT_PATH = path.resolve(__dirname, '..', 'openapi.yaml');

/** Responses of `components.responses` that no operation owns: 404 (unknown path) and 405 (wrong method). */
export type UnattachedResponse = 'NotFound' | 'MethodNotAllowed';

const formatErrors = (errors: ErrorObject[] | null | undefined): string[] =>
  (errors ?? []).map((e) => {
    const where = e.instancePath === '' ? 'body' : `body${e.instancePath.replace(/\//g, '.')}`;
    const extra = e.params as { additionalProperty?: string; allowedValues?: unknown[]; missingProperty?: string };
    const detail = extra.additionalProperty
      ? ` (${JSON.stringify(extra.additionalProperty)})`
      : extra.allowedValues
        ? ` (${JSON.stringify(extra.allowedValues)})`
        : '';
    return `${where} ${e.message ?? 'is invalid'}${detail}`;
  });

/**
 * The document loaded into openapi-backend (validated strictly, `$ref`s resolved), with the questions the
 * checks ask of it: which statuses and media types an operation documents, and whether a body matches.
 */
export class ContractDocument {
  private readonly unattached = new Map<UnattachedResponse, ValidateFunction>();

  constructor(readonly api: OpenAPIBackend) {}

  get definition(): Document {
    return this.api.definition;
  }

  operationIds(): string[] {
    return this.api.router.getOperations().map((op) => op.operationId ?? `${op.method} ${op.path}`);
  }

  private responsesOf(operationId: string): Record<string, ResponseObject> {
    const op = this.api.router.getOperation(operationId);
    if (!op) throw new Error(`operation ${operationId} is not in ${OPENAPI_DOCUMENT_PATH}`);
    return (op.responses ?? {}) as Record<string, ResponseObject>;
  }

  /** Status codes the operation documents, as written in the document (`'200'`, `'400'`, …). */
  documentedStatuses(operationId: string): string[] {
    return Object.keys(this.responsesOf(operationId));
  }

  /**
   * Media types documented for one status of an operation; `[]` when the response has no body (204),
   * `undefined` when the status is not documented at all.
   */
  mediaTypes(operationId: string, status: number): string[] | undefined {
    const response = this.responsesOf(operationId)[String(status)];
    if (!response) return undefined;
    return Object.keys(response.content ?? {});
  }

  /** openapi-backend's response validation for one operation and status; returns readable errors. */
  validateOperationResponse(operationId: string, status: number, body: unknown): string[] {
    const result = this.api.validateResponse(body, operationId, status);
    return result.valid ? [] : formatErrors(result.errors);
  }

  /** Validates a 404/405 body against its schema in `components.responses`. */
  validateUnattachedResponse(name: UnattachedResponse, body: unknown): string[] {
    let validate = this.unattached.get(name);
    if (!validate) {
      const response = this.definition.components?.responses?.[name] as ResponseObject | undefined;
      const schema = response?.content?.['application/json']?.schema;
      if (!schema) throw new Error(`components.responses.${name} has no application/json schema`);
      validate = this.api.validator.getAjv(ValidationContext.Response).compile(schema);
      this.unattached.set(name, validate);
    }
    validate(body);
    return formatErrors(validate.errors);
  }

  /** The operation a request is routed to, if any (path without query). */
  matchOperation(method: string, requestPath: string): string | undefined {
    return this.api.router.matchOperation({ method, path: requestPath, headers: {} })?.operationId;
  }
}

let loading: Promise<ContractDocument> | undefined;

/** Loads, validates and caches the document; a broken document fails every check with the reason. */
export function loadContractDocument(): Promise<ContractDocument> {
  loading ??= (async () => {
    const definition = parse(readFileSync(OPENAPI_DOCUMENT_PATH, 'utf8')) as Document;
    const api = new OpenAPIBackend({ definition, strict: true, quick: false, ajvOpts: { allErrors: true } });
    await api.init();
    return new ContractDocument(api);
  })();
  return loading;
}
