import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { cdcError } from '../errors';
import { connectorFileSchema, type ConnectorDefinition } from './schema';

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Replaces `${NAME}` in every string of `value` with `env.NAME`. Returns the result and one problem per unset
 * variable, naming it and the field that uses it. `${provider:path:key}` (Kafka Connect config providers) is
 * left alone.
 */
export function substitutePlaceholders(
  value: unknown,
  env: NodeJS.ProcessEnv,
  at: readonly PropertyKey[] = [],
): { value: unknown; problems: string[] } {
  const problems: string[] = [];
  const walk = (v: unknown, p: readonly PropertyKey[]): unknown => {
    if (typeof v === 'string') {
      return v.replace(PLACEHOLDER, (whole, name: string) => {
        const replacement = env[name];
        if (replacement !== undefined) return replacement;
        problems.push(`${formatPath(p)}: variable ${name} is not set`);
        return whole;
      });
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...p, i]));
    if (typeof v === 'object' && v !== null) {
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, [...p, k])]));
    }
    return v;
  };
  return { value: walk(value, at), problems };
}

/**
 * Loads every `*.json` connector file in `dir` (sorted by name), fills placeholders from `env` and validates.
 * Throws one `CDC_ERR_CONNECTOR_CONFIG` error listing every problem of every file, each naming the file and the
 * field path (`config["plugin.name"]`).
 */
export function loadConnectorConfigs(dir: string, env: NodeJS.ProcessEnv = process.env): ConnectorDefinition[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => path.join(dir, f));
  if (files.length === 0) {
    throw cdcError('CDC_ERR_CONNECTOR_CONFIG', `no connector files (*.json) in ${dir}`, {
      details: { dir, problems: [] },
    });
  }

  const problems: string[] = [];
  const connectors: ConnectorDefinition[] = [];
  for (const file of files) {
    const result = loadConnectorFile(file, env);
    if ('problems' in result) problems.push(...result.problems.map((p) => `${file}: ${p}`));
    else connectors.push(result);
  }
  const seen = new Map<string, string>();
  for (const c of connectors) {
    const other = seen.get(c.name);
    if (other) problems.push(`${c.file}: name: "${c.name}" is already used by ${other}`);
    seen.set(c.name, c.file);
  }
  if (problems.length > 0) {
    throw cdcError(
      'CDC_ERR_CONNECTOR_CONFIG',
      `invalid connector configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      {
        details: { dir, problems },
      },
    );
  }
  return connectors;
}

function loadConnectorFile(file: string, env: NodeJS.ProcessEnv): ConnectorDefinition | { problems: string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return { problems: [`not valid JSON: ${(err as Error).message}`] };
  }
  const { value, problems } = substitutePlaceholders(raw, env);
  const parsed = connectorFileSchema.safeParse(value);
  if (!parsed.success) {
    const unset = new Set(problems.map((p) => p.slice(0, p.indexOf(': '))));
    for (const issue of parsed.error.issues) {
      if (!unset.has(formatPath(issue.path))) problems.push(describeIssue(issue, value));
    }
  }
  if (problems.length > 0 || !parsed.success) return { problems };
  return Object.freeze({ name: parsed.data.name, config: Object.freeze(parsed.data.config), file });
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const missing =
    (issue.code === 'invalid_type' || issue.code === 'invalid_value') &&
    issue.path.length > 0 &&
    valueAt(input, issue.path) === undefined;
  return `${formatPath(issue.path)}: ${missing ? 'is required' : issue.message}`;
}

function valueAt(input: unknown, at: readonly PropertyKey[]): unknown {
  let v = input;
  for (const key of at) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** `config["plugin.name"]`: keys with dots stay readable and unambiguous. */
function formatPath(at: readonly PropertyKey[]): string {
  if (at.length === 0) return '(file)';
  return at
    .map((key, i) => {
      if (typeof key === 'number') return `[${key}]`;
      const name = String(key);
      return /^[A-Za-z_$][\w$]*$/.test(name) ? `${i === 0 ? '' : '.'}${name}` : `[${JSON.stringify(name)}]`;
    })
    .join('');
}
