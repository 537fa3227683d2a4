// Test and tooling support only (the AsyncAPI parser is a dev dependency): not exported from the package index.
import path from 'node:path';
import { fromFile, Parser, type AsyncAPIDocumentInterface } from '@asyncapi/parser';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

export const ASYNCAPI_FILE = path.resolve(__dirname, '..', '..', '..', '..', 'docs', 'asyncapi.yaml');

/** A message as captured from Kafka: key and value parsed from JSON where they are JSON, headers as text. */
export interface CapturedMessage {
  key: unknown;
  value: unknown;
  headers: Record<string, string>;
}

/** Parses docs/asyncapi.yaml with the official parser; throws listing every error diagnostic. */
export async function parseAsyncApi(): Promise<AsyncAPIDocumentInterface> {
  const { document, diagnostics } = await fromFile(new Parser(), ASYNCAPI_FILE).parse();
  const errors = diagnostics.filter((d) => d.severity === 0);
  if (!document || errors.length > 0) {
    throw new Error(
      `${ASYNCAPI_FILE} is not valid AsyncAPI:\n${errors.map((d) => `  ${d.path.join('.')}: ${d.message}`).join('\n')}`,
    );
  }
  return document;
}

/** The parser's schema JSON without what ajv must not see twice (ids) or does not know (x-parser-*). */
function clean(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(clean);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === '$id' || k === '$schema' || k.startsWith('x-parser-')) continue;
    out[k] = clean(v);
  }
  return out;
}

/**
 * Validators of every message of every channel, by channel address: a captured message is valid when key,
 * headers and value match one of its channel's messages.
 */
export function messageValidators(document: AsyncAPIDocumentInterface) {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const compile = (schema: unknown): ValidateFunction | undefined =>
    schema === undefined ? undefined : ajv.compile(clean(schema) as object);
  const byAddress = new Map<
    string,
    Array<{ name: string; payload?: ValidateFunction; headers?: ValidateFunction; key?: ValidateFunction }>
  >();
  for (const channel of document.channels().all()) {
    const address = channel.address();
    if (!address) continue;
    byAddress.set(
      address,
      channel
        .messages()
        .all()
        .map((m) => ({
          name: m.name() ?? m.id(),
          payload: compile(m.payload()?.json()),
          headers: compile(m.headers()?.json()),
          key: compile((m.bindings().get('kafka')?.value() as { key?: unknown } | undefined)?.key),
        })),
    );
  }

  return {
    addresses: [...byAddress.keys()],
    /** undefined when `message` matches one of the channel's messages, else why it matches none */
    problems(address: string, message: CapturedMessage): string | undefined {
      const candidates = byAddress.get(address);
      if (!candidates) return `no channel with address ${address}`;
      const reasons: string[] = [];
      for (const c of candidates) {
        const failures: string[] = [];
        for (const [part, validate, data] of [
          ['payload', c.payload, message.value],
          ['headers', c.headers, message.headers],
          ['key', c.key, message.key],
        ] as const) {
          if (validate && !validate(data)) failures.push(`${part}: ${ajv.errorsText(validate.errors)}`);
        }
        if (failures.length === 0) return undefined;
        reasons.push(`${c.name}: ${failures.join('; ')}`);
      }
      return reasons.join(' | ');
    },
  };
}
