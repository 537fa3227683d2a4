import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { STRIMZI_SCHEMAS_DIR } from '../paths';

/** One rendered Kubernetes object. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** A problem found in a rendered manifest, named by resource and JSON path. */
export interface Finding {
  resource: string;
  path: string;
  message: string;
}

/** Splits `helm template` output into objects (empty documents skipped). */
export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null && typeof m === 'object');
}

export const resourceId = (m: Manifest) => `${m.kind}/${m.metadata?.name ?? '?'}`;

const formatErrors = (m: Manifest, errors: readonly Partial<ErrorObject>[] | null | undefined): Finding[] =>
  (errors ?? []).map((e) => ({
    resource: resourceId(m),
    path: e.instancePath || '/',
    message: `${e.message ?? e.keyword ?? 'invalid'}${e.params && 'additionalProperty' in e.params ? `: ${String(e.params.additionalProperty)}` : ''}${e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''}`,
  }));

// ---- Strimzi custom resources: the CRD's structural schema, strict like the API server's field validation ----

/**
 * Where a CRD schema allows nothing but its properties, says so: the API server prunes unknown fields, and with
 * strict field validation (kubectl's default) refuses them. Branches of oneOf/anyOf/allOf/not only constrain
 * (structural schemas declare fields outside them), so they are left as they are.
 */
export function strictStructural(node: unknown, inCombinator = false): unknown {
  if (Array.isArray(node)) return node.map((n) => strictStructural(n, inCombinator));
  if (!node || typeof node !== 'object') return node;
  const o = Object.fromEntries(
    Object.entries(node).map(([k, v]) => [k, strictStructural(v, inCombinator || COMBINATORS.has(k))]),
  ) as Record<string, unknown>;
  if (
    !inCombinator &&
    o.properties &&
    o.additionalProperties === undefined &&
    !o['x-kubernetes-preserve-unknown-fields']
  ) {
    o.additionalProperties = false;
  }
  return o;
}

const COMBINATORS = new Set(['oneOf', 'anyOf', 'allOf', 'not']);

/** The CRD schemas the chart is checked against (`x-kind` → schema file content). */
export function loadStrimziSchemas(
  dir = STRIMZI_SCHEMAS_DIR,
): Map<string, { apiVersion: string; version: string; schema: unknown }> {
  const out = new Map<string, { apiVersion: string; version: string; schema: unknown }>();
  for (const kind of ['Kafka', 'KafkaNodePool', 'KafkaConnect', 'KafkaConnector', 'KafkaTopic']) {
    const file = JSON.parse(readFileSync(path.join(dir, `${kind}.json`), 'utf8')) as Record<string, unknown>;
    out.set(kind, {
      apiVersion: String(file['x-api-version']),
      version: String(file['x-strimzi-version']),
      schema: file.schema,
    });
  }
  return out;
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** What the API server checks of every object's metadata (names, label values). */
export function checkMetadata(m: Manifest): Finding[] {
  const findings: Finding[] = [];
  const name = m.metadata?.name;
  if (typeof name !== 'string' || name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    findings.push({ resource: resourceId(m), path: '/metadata/name', message: 'must be a DNS-1123 subdomain' });
  }
  for (const [k, v] of Object.entries(m.metadata?.labels ?? {})) {
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) {
      findings.push({
        resource: resourceId(m),
        path: `/metadata/labels/${k}`,
        message: `invalid label value ${JSON.stringify(v)}`,
      });
    }
  }
  return findings;
}

/** Validator of Strimzi custom resources against their CRD schemas. */
export function strimziValidator(dir = STRIMZI_SCHEMAS_DIR) {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const schemas = loadStrimziSchemas(dir);
  const compiled = new Map<string, { apiVersion: string; validate: ValidateFunction }>();
  for (const [kind, s] of schemas)
    compiled.set(kind, { apiVersion: s.apiVersion, validate: ajv.compile(strictStructural(s.schema) as object) });
  return {
    handles: (m: Manifest) => m.apiVersion?.startsWith('kafka.strimzi.io/'),
    validate(m: Manifest): Finding[] {
      const entry = compiled.get(m.kind);
      if (!entry) return [{ resource: resourceId(m), path: '/kind', message: `no Strimzi schema for kind ${m.kind}` }];
      if (m.apiVersion !== entry.apiVersion) {
        return [
          {
            resource: resourceId(m),
            path: '/apiVersion',
            message: `must be ${entry.apiVersion} (Strimzi ${schemas.get(m.kind)?.version})`,
          },
        ];
      }
      entry.validate(m);
      return [...checkMetadata(m), ...formatErrors(m, entry.validate.errors)];
    },
  };
}

// ---- Built-in kinds: kubernetes-models, validators compiled from the Kubernetes OpenAPI spec ----

/** `apps/v1` + `Deployment` → the kubernetes-models module of that kind. */
export function kubernetesModelModule(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`;
}

/** Validates a built-in object with the kubernetes-models validator of its apiVersion and kind. */
export async function validateBuiltin(m: Manifest): Promise<Finding[]> {
  let Model: { new (data: unknown): { validate(): void } };
  try {
    const mod = (await import(kubernetesModelModule(m.apiVersion, m.kind))) as Record<string, unknown>;
    Model = mod[m.kind] as typeof Model;
    if (typeof Model !== 'function') throw new Error('no model');
  } catch {
    return [
      { resource: resourceId(m), path: '/apiVersion', message: `${m.apiVersion} ${m.kind} is not a Kubernetes API` },
    ];
  }
  try {
    new Model(m).validate();
    return checkMetadata(m);
  } catch (err) {
    const e = err as Error & { errors?: ErrorObject[] };
    return [
      ...checkMetadata(m),
      ...(e.errors ? formatErrors(m, e.errors) : [{ resource: resourceId(m), path: '/', message: e.message }]),
    ];
  }
}

/** Every finding of every manifest: built-in kinds against the Kubernetes schemas, Strimzi kinds against their CRDs. */
export async function validateManifests(manifests: Manifest[]): Promise<Finding[]> {
  const strimzi = strimziValidator();
  const findings: Finding[] = [];
  for (const m of manifests) {
    if (!m.apiVersion || !m.kind) {
      findings.push({ resource: resourceId(m), path: '/', message: 'apiVersion and kind are required' });
      continue;
    }
    findings.push(...(strimzi.handles(m) ? strimzi.validate(m) : await validateBuiltin(m)));
  }
  return findings;
}
